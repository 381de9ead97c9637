"""The web layer (Litestar, Jinja2, HTMX): the only package that knows HTTP.

web.app builds the application; web.pages holds the pages people work in, web.api the JSON API
for other systems; web.security signs people and systems in and guards routes by role.
"""
