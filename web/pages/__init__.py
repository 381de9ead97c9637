"""The pages people work in: each module holds one area's handlers, collected here."""

from web.pages import auth, cases, desk

ROUTES = [*auth.ROUTES, *desk.ROUTES, *cases.ROUTES]
