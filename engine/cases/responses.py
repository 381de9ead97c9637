"""A canned response (engine.rules.responses) filled in for one case and the person writing."""

from __future__ import annotations

from engine.kernel.records import CaseRecord
from engine.kernel.specs import WorkflowSpec
from engine.rules.responses import CannedResponse


def render_for_case(response: CannedResponse, case: CaseRecord, spec: WorkflowSpec,
                    customer_name: str | None, agent_name: str) -> str:
    """The response's text for `case`: what a message to its customer starts from."""
    summary = case.fields.get("summary")
    return response.render({
        "customer_name": customer_name or case.customer or "",
        "customer_id": case.customer or "",
        "case_number": str(case.id),
        "case_title": spec.title,
        "summary": summary if isinstance(summary, str) else "",
        "agent_name": agent_name,
    })
