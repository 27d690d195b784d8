"""Changed versions of the process models, made from whatever ``processes/*.bpmn`` holds now.

The migration tests never ship BPMN files of their own: each variant is the current model
with one real change applied to its XML (lxml), addressed by the ids of the element
contract in processes/README.md. A missing id fails loudly, naming it.
"""
from __future__ import annotations

from pathlib import Path

from lxml import etree

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN}


def source(name: str = "trajectory") -> bytes:
    return (PROCESSES / f"{name}.bpmn").read_bytes()


def _tree(xml: bytes):
    return etree.fromstring(xml)


def _by_id(root, element_id: str):
    found = root.xpath(f"//*[@id='{element_id}']")
    if not found:
        raise AssertionError(f"element {element_id!r} not found in the process model (processes/README.md contract)")
    return found[0]


def _process(root):
    return root.find("bpmn:process", NS)


def _text_refs(root, tag: str, value: str):
    return [e for e in root.iter(f"{{{BPMN}}}{tag}") if (e.text or "").strip() == value]


def _flow(root, source_id: str):
    flows = root.xpath(f"//bpmn:sequenceFlow[@sourceRef='{source_id}']", namespaces=NS)
    if len(flows) != 1:
        raise AssertionError(f"{source_id!r} has {len(flows)} outgoing flows; the variant needs exactly one")
    return flows[0]


def _out(root) -> bytes:
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def insert_script_task_after(xml: bytes, task_id: str, new_id: str, script: str = "checked = True") -> bytes:
    """A script task between ``task_id`` and whatever followed it (a task added on that path)."""
    root = _tree(xml)
    flow = _flow(root, task_id)
    target_id, flow_id = flow.get("targetRef"), flow.get("id")
    new_flow_id = f"sf_{new_id}__{target_id}"
    flow.set("targetRef", new_id)
    target = _by_id(root, target_id)
    for ref in target.findall("bpmn:incoming", NS):
        if ref.text.strip() == flow_id:
            ref.text = new_flow_id
    task = etree.SubElement(_process(root), f"{{{BPMN}}}scriptTask", id=new_id, name=f"Added: {new_id}")
    etree.SubElement(task, f"{{{BPMN}}}incoming").text = flow_id
    etree.SubElement(task, f"{{{BPMN}}}outgoing").text = new_flow_id
    etree.SubElement(task, f"{{{BPMN}}}script").text = script
    etree.SubElement(_process(root), f"{{{BPMN}}}sequenceFlow", id=new_flow_id, sourceRef=new_id,
                     targetRef=target_id)
    return _out(root)


def relabel(xml: bytes, element_id: str, name: str) -> bytes:
    """Change an element's name (what people read), not its id."""
    root = _tree(xml)
    _by_id(root, element_id).set("name", name)
    return _out(root)


def rename_id(xml: bytes, old: str, new: str) -> bytes:
    """Give an element another id, everywhere it is referred to (flows, boundary events, diagram)."""
    root = _tree(xml)
    _by_id(root, old).set("id", new)
    for attr in ("sourceRef", "targetRef", "attachedToRef", "bpmnElement", "default"):
        for element in root.xpath(f"//*[@{attr}='{old}']"):
            element.set(attr, new)
    return _out(root)


def remove_task(xml: bytes, task_id: str) -> bytes:
    """Remove a task with one way in and one way out; its incoming flow goes straight on."""
    root = _tree(xml)
    task = _by_id(root, task_id)
    if root.xpath(f"//*[@attachedToRef='{task_id}']"):
        raise AssertionError(f"{task_id!r} carries boundary events; pick a plain task to remove")
    incoming = root.xpath(f"//bpmn:sequenceFlow[@targetRef='{task_id}']", namespaces=NS)
    outgoing = _flow(root, task_id)
    if len(incoming) != 1:
        raise AssertionError(f"{task_id!r} has {len(incoming)} incoming flows; the variant needs exactly one")
    target_id, out_id = outgoing.get("targetRef"), outgoing.get("id")
    incoming[0].set("targetRef", target_id)
    target = _by_id(root, target_id)
    for ref in target.findall("bpmn:incoming", NS):
        if ref.text.strip() == out_id:
            ref.text = incoming[0].get("id")
    for gone in (task, outgoing):
        for shape in root.xpath(f"//*[@bpmnElement='{gone.get('id')}']"):
            shape.getparent().remove(shape)
        gone.getparent().remove(gone)
    return _out(root)


def change_timer(xml: bytes, event_id: str, expression: str) -> bytes:
    """Another ``timeDate`` expression for the timer event ``event_id``."""
    root = _tree(xml)
    found = _by_id(root, event_id).xpath(".//bpmn:timeDate", namespaces=NS)
    if not found:
        raise AssertionError(f"{event_id!r} has no timeDate timer")
    found[0].text = expression
    return _out(root)
