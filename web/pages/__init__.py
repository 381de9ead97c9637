"""The pages people work in: each module holds one area's handlers, collected here."""

from web.pages import audit, auth, cases, customers, dashboards, desk, rule_editing, rules

ROUTES = [*auth.ROUTES, *desk.ROUTES, *cases.ROUTES, *customers.ROUTES, *audit.ROUTES,
          *rules.ROUTES, *rule_editing.ROUTES, *dashboards.ROUTES]
