"""Write bench/fagmentor.bpmn (and fagmentor.outcomes.json): the Fagmentor lifecycle that
bench_lifecycle.py plays on our side, as BPMN for SpiffWorkflow.

    python bench/make_fagmentor_bpmn.py

One user task per step our lifecycle completes, in the order it completes them; after a
step with outcomes an exclusive gateway whose other outcomes end the process (the
benchmark takes the first outcome, as ours does). Run again when fagmentor.yaml changes,
and commit the result (it is reviewed like code).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from bench_lifecycle import BPMN, Ours
from common import ROOT


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours = Ours(Path(tmp))
        keys = ours.lifecycle(0)
        d = ours.d
        from sqlmodel import select

        from iba_workflow.store.tables import StepInstanceRow

        with ours.open() as s:
            step_ids = {r.key: r.step_id for r in s.exec(select(StepInstanceRow))}
    nodes: list[str] = ['<bpmn:startEvent id="start" />']
    flows: list[str] = []
    outcomes: dict[str, str] = {}
    previous, condition = "start", None
    for n, key in enumerate(keys):
        spec = d.step(step_ids[key])
        task = f"t{n}"
        nodes.append(f'<bpmn:userTask id="{task}" name="{escape(key)}" />')
        flows.append(_flow(previous, task, condition))
        previous, condition = task, None
        if spec.outcomes_list:
            chosen = spec.outcomes_list[0].id
            outcomes[task] = chosen
            gateway = f"g{n}"
            nodes.append(f'<bpmn:exclusiveGateway id="{gateway}" />')
            flows.append(_flow(task, gateway))
            for other in spec.outcomes_list[1:]:
                end = f"end_{n}_{other.id}"
                nodes.append(f'<bpmn:endEvent id="{end}" />')
                flows.append(_flow(gateway, end, f'outcome == "{other.id}"'))
            previous, condition = gateway, f'outcome == "{chosen}"'
            continue
        condition = None
    nodes.append('<bpmn:endEvent id="end" />')
    flows.append(_flow(previous, "end", condition))
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="fagmentor_definitions" targetNamespace="iba-workflow-bench">\n'
        '<bpmn:process id="fagmentor" isExecutable="true">\n'
        + "\n".join(nodes + flows)
        + "\n</bpmn:process>\n</bpmn:definitions>\n"
    )
    BPMN.write_text(xml, encoding="utf-8")
    (ROOT / "bench" / "fagmentor.outcomes.json").write_text(
        json.dumps(outcomes, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"{BPMN.name}: {len(keys)} user tasks, {len(outcomes)} gateways")


_flows = 0


def _flow(source: str, target: str, condition: str | None = None) -> str:
    global _flows
    _flows += 1
    if condition is None:
        return f'<bpmn:sequenceFlow id="f{_flows}" sourceRef="{source}" targetRef="{target}" />'
    return (
        f'<bpmn:sequenceFlow id="f{_flows}" sourceRef="{source}" targetRef="{target}">'
        f"<bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression>"
        "</bpmn:sequenceFlow>"
    )


if __name__ == "__main__":
    main()
