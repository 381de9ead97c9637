"""The pages people work in: each module holds one area's handlers and its Router."""

from web.pages import (
    admin,
    agent_views,
    approvals,
    audit,
    auth,
    cases,
    conversation,
    customers,
    dashboards,
    desk,
    drafting,
    intake,
    jobs,
    notifications,
    personal_data,
    public,
    rule_editing,
    rules,
    workflow_editing,
    workflow_moves,
)

ROUTERS = [auth.ROUTER, desk.ROUTER, cases.ROUTER, customers.ROUTER, audit.ROUTER, rules.ROUTER,
           rule_editing.ROUTER, workflow_editing.ROUTER, workflow_moves.ROUTER,
           drafting.ROUTER, approvals.ROUTER, dashboards.ROUTER, intake.ROUTER,
           agent_views.ROUTER, jobs.ROUTER,
           conversation.ROUTER, notifications.ROUTER, personal_data.ROUTER, public.SURVEY,
           public.CONTACT, admin.ROUTER]
