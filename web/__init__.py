"""The web layer (Litestar, Jinja2, HTMX): the only package that knows HTTP.

It holds no pages yet; the service desk, rules and audit pages are the next slice of work.
"""
