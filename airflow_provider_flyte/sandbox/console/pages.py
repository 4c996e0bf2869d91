"""The console's pages. Each reads through AdminService/SignalService requests (see :class:`Backend`) and returns
HTML; URLs follow Flyte console's layout (``/console/projects/{p}/domains/{d}/executions/{name}``)."""

from __future__ import annotations

import time
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    node_execution_pb2,
    project_pb2,
    signal_pb2,
    task_execution_pb2,
)
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2, types_pb2

from airflow_provider_flyte.remote.codec.describe import describe_type
from airflow_provider_flyte.sandbox.console.layout import page
from airflow_provider_flyte.sandbox.console.render import (
    duration,
    esc,
    link,
    phase_badge,
    render_literal,
    render_literal_map,
    seconds_of,
    timestamp,
)
from airflow_provider_flyte.sandbox.errors import not_found

WORKFLOW_PHASE = core_execution_pb2.WorkflowExecution.Phase
NODE_PHASE = core_execution_pb2.NodeExecution.Phase
TASK_PHASE = core_execution_pb2.TaskExecution.Phase
TERMINAL = {"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT", "SKIPPED", "RECOVERED"}
#: entity kinds: URL segment -> (title, List*Ids method, List* method, field of the List* response)
ENTITY_KINDS = {
    "launch_plan": ("Launch plans", "ListLaunchPlanIds", "ListLaunchPlans", "launch_plans"),
    "task": ("Tasks", "ListTaskIds", "ListTasks", "tasks"),
    "workflow": ("Workflows", "ListWorkflowIds", "ListWorkflows", "workflows"),
}
PAGE_SIZE = 25
#: nodes read per parent, and how deep subworkflow/dynamic children are followed
MAX_NODES = 500
MAX_DEPTH = 4


class Backend(Protocol):
    """What pages need: admin and signal RPCs, download URLs of blobs, and task log text."""

    def admin(self, method: str, request: Any) -> Any: ...

    def signal(self, method: str, request: Any) -> Any: ...

    def download_url(self, uri: str) -> str | None: ...

    def log_text(self, uri: str) -> str | None: ...


def base(project: str, domain: str) -> str:
    return f"/console/projects/{quote(project)}/domains/{quote(domain)}"


def execution_path(eid: Any) -> str:
    return f"{base(eid.project, eid.domain)}/executions/{quote(eid.name)}"


def _crumbs(project: str, domain: str, *rest: tuple[str, str]) -> list[tuple[str, str]]:
    return [("projects", "/console"), (f"{project} / {domain}", f"{base(project, domain)}/executions"), *rest]


# -- home -----------------------------------------------------------------------------------------------------------
def home(backend: Backend) -> bytes:
    projects = backend.admin("ListProjects", project_pb2.ProjectListRequest(limit=100)).projects
    rows = []
    for p in projects:
        for d in p.domains:
            b = base(p.id, d.id)
            rows.append(
                f"<tr><td>{esc(p.name or p.id)}</td><td>{esc(d.id)}</td><td>"
                + " · ".join(
                    [
                        link(f"{b}/executions", "executions"),
                        link(f"{b}/launch_plan", "launch plans"),
                        link(f"{b}/workflow", "workflows"),
                        link(f"{b}/task", "tasks"),
                    ]
                )
                + "</td></tr>"
            )
    body = "<table><tr><th>project</th><th>domain</th><th></th></tr>" + "".join(rows) + "</table>"
    return page("Projects", body)


# -- executions list ------------------------------------------------------------------------------------------------
def executions(backend: Backend, project: str, domain: str, query: dict[str, str]) -> bytes:
    phase, launch_plan, token = query.get("phase", ""), query.get("launch_plan", ""), query.get("token", "")
    limit = int(query["limit"]) if query.get("limit", "").isdigit() else PAGE_SIZE
    filters = []
    if phase:
        filters.append(f"eq(phase,{phase})")
    if launch_plan:
        filters.append(f"eq(launch_plan.name,{launch_plan})")
    request = common_pb2.ResourceListRequest(
        id=common_pb2.NamedEntityIdentifier(project=project, domain=domain),
        limit=max(1, min(limit, 100)),
        token=token,
        filters="+".join(filters),
        sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.DESCENDING),
    )
    result = backend.admin("ListExecutions", request)
    rows = []
    for ex in result.executions:
        c = ex.closure
        lp = ex.spec.launch_plan
        rows.append(
            f'<tr class="execution" data-name="{esc(ex.id.name)}">'
            f"<td>{link(execution_path(ex.id), ex.id.name)}</td>"
            f"<td>{phase_badge(WORKFLOW_PHASE.Name(c.phase))}</td>"
            f"<td>{link(f'{base(project, domain)}/launch_plan/{quote(lp.name)}', lp.name)} <span class='muted'>"
            f"{esc(lp.version)}</span></td>"
            f"<td>{esc(timestamp(c.started_at) or timestamp(c.created_at))}</td><td>{esc(duration(c.duration))}</td>"
            "</tr>"
        )
    phases = "".join(
        f'<option value="{n}"{" selected" if n == phase else ""}>{n}</option>'
        for n in WORKFLOW_PHASE.keys()  # noqa: SIM118 (protobuf enum wrapper)
        if n != "UNDEFINED"
    )
    form = (
        '<form class="filters" method="get">'
        f'<label>phase <select name="phase"><option value="">any</option>{phases}</select></label>'
        f'<label>launch plan <input name="launch_plan" value="{esc(launch_plan)}" placeholder="name"></label>'
        "<button>filter</button></form>"
    )
    table = (
        "<table id='executions'><tr><th>execution</th><th>phase</th><th>launch plan</th><th>started</th>"
        "<th>duration</th></tr>" + "".join(rows) + "</table>"
        if rows
        else "<p class='muted'>no executions</p>"
    )
    kept = {
        k: v
        for k, v in {"phase": phase, "launch_plan": launch_plan, "limit": query.get("limit", "")}.items()
        if v
    }
    pager = ""
    if result.token:
        pager = (
            f"<p>{link('?' + urlencode({**kept, 'token': result.token}), 'next page →', id='next-page')}</p>"
        )
    if token:
        pager += f"<p>{link('?' + urlencode(kept), '← first page')}</p>"
    return page(
        f"Executions of {project} / {domain}",
        form + table + pager,
        crumbs=_crumbs(project, domain),
        refresh=5,
    )


# -- execution page -------------------------------------------------------------------------------------------------
def _wf_id(project: str, domain: str, name: str) -> Any:
    return identifier_pb2.WorkflowExecutionIdentifier(project=project, domain=domain, name=name)


def _error_html(error: Any) -> str:
    kind = core_execution_pb2.ExecutionError.ErrorKind.Name(error.kind)
    return (
        f'<div class="error" id="error"><b>{esc(kind)}</b> <code>{esc(error.code)}</code>'
        f"<pre>{esc(error.message)}</pre></div>"
    )


def _nodes(backend: Backend, eid: Any, parent: str = "") -> list[Any]:
    request = node_execution_pb2.NodeExecutionListRequest(
        workflow_execution_id=eid, limit=MAX_NODES, unique_parent_id=parent
    )
    nodes = list(backend.admin("ListNodeExecutions", request).node_executions)
    nodes = [n for n in nodes if n.id.node_id not in ("start-node", "end-node")]
    return sorted(nodes, key=lambda n: (seconds_of(n.closure.started_at) or float("inf"), n.id.node_id))


def _attempts(backend: Backend, node: Any) -> str:
    request = task_execution_pb2.TaskExecutionListRequest(node_execution_id=node.id, limit=100)
    tasks = backend.admin("ListTaskExecutions", request).task_executions
    parts = []
    for t in sorted(tasks, key=lambda t: t.id.retry_attempt):
        c = t.closure
        logs = []
        for log in c.logs:
            url = backend.download_url(log.uri)
            title = link(url, log.name or "log") if url else esc(log.name or "log")
            text = backend.log_text(log.uri)
            body = (
                f"<pre class='log'>{esc(text)}</pre>" if text is not None else f"<code>{esc(log.uri)}</code>"
            )
            logs.append(f"<details class='log'><summary>{title}</summary>{body}</details>")
        children = "".join(
            f"<li>{esc(r.external_id)} #{r.index} {phase_badge(TASK_PHASE.Name(r.phase))} "
            f"attempt {r.retry_attempt}</li>"
            for r in c.metadata.external_resources
        )
        parts.append(
            f'<div class="attempt">attempt {t.id.retry_attempt} {phase_badge(TASK_PHASE.Name(c.phase))} '
            f"<span class='muted'>{esc(duration(c.duration))}</span>"
            + (_error_html(c.error) if c.HasField("error") else "")
            + "".join(logs)
            + (f"<details><summary>map task items</summary><ul>{children}</ul></details>" if children else "")
            + "</div>"
        )
    return "".join(parts)


def _node_rows(
    backend: Backend, eid: Any, nodes: list[Any], span: tuple[float, float], depth: int
) -> list[str]:
    start, total = span
    now = time.time()
    rows = []
    for n in nodes:
        c = n.closure
        phase = NODE_PHASE.Name(c.phase)
        began = seconds_of(c.started_at)
        left = max(0.0, (began - start) / total * 100) if began else 0.0
        ran = seconds_of(c.duration) if phase in TERMINAL else max(0.0, now - began)
        width = max(0.5, ran / total * 100) if began else 0.0
        bar = f'<div class="timeline"><span style="left:{left:.1f}%;width:{min(width, 100 - left):.1f}%"></span></div>'
        extra = []
        if c.HasField("workflow_node_metadata"):
            child = c.workflow_node_metadata.executionId
            extra.append("child execution " + link(execution_path(child), child.name))
        if c.deck_uri:
            url = backend.download_url(c.deck_uri)
            if url:
                extra.append(link(url, "deck"))
        if c.HasField("error"):
            extra.append(_error_html(c.error))
        data = backend.admin("GetNodeExecutionData", node_execution_pb2.NodeExecutionGetDataRequest(id=n.id))
        io = (
            "<details><summary>inputs / outputs</summary><b>inputs</b>"
            + render_literal_map(data.full_inputs, backend.download_url)
            + "<b>outputs</b>"
            + render_literal_map(data.full_outputs, backend.download_url)
            + "</details>"
        )
        indent = "&nbsp;&nbsp;&nbsp;&nbsp;" * depth + ("↳ " if depth else "")
        rows.append(
            f'<tr class="node" data-node="{esc(n.id.node_id)}" data-phase="{esc(phase)}">'
            f"<td>{indent}<b>{esc(n.id.node_id)}</b></td><td>{phase_badge(phase)}</td>"
            f"<td>{esc(timestamp(c.started_at))}<br><span class='muted'>{esc(duration(c.duration))}</span></td>"
            f"<td>{bar}</td><td>{_attempts(backend, n)}{' '.join(extra)}{io}</td></tr>"
        )
        if n.metadata.is_parent_node and depth < MAX_DEPTH:
            children = _nodes(backend, eid, n.id.node_id)
            rows.extend(_node_rows(backend, eid, children, span, depth + 1))
    return rows


def _signal_forms(backend: Backend, eid: Any, action: str) -> str:
    signals = backend.signal(
        "ListSignals", signal_pb2.SignalListRequest(workflow_execution_id=eid, limit=100)
    ).signals
    if not signals:
        return ""
    rows = []
    for s in signals:
        sid = s.id.signal_id
        if s.HasField("value"):
            state = "set to " + render_literal(s.value, backend.download_url)
        else:
            target = f"{action}/signals/{quote(sid, safe='')}"
            if s.type.simple == types_pb2.BOOLEAN:  # an approve() gate
                state = (
                    f'<form class="inline gate" method="post" action="{esc(target)}">'
                    '<button name="action" value="approve" class="approve">Approve</button> '
                    '<button name="action" value="reject" class="reject">Reject</button></form>'
                )
            else:
                state = (
                    f'<form class="inline gate" method="post" action="{esc(target)}">'
                    '<input name="value" placeholder="value (JSON, or plain text for strings)" size="40"> '
                    '<button name="action" value="set" class="set-input">Set input</button></form>'
                )
        rows.append(
            f'<tr class="signal" data-signal="{esc(sid)}"><td>{esc(sid)}</td><td>{esc(describe_type(s.type))}</td>'
            f"<td>{state}</td></tr>"
        )
    return (
        "<h2>Gates (signals)</h2><table id='signals'><tr><th>signal</th><th>type</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )


def execution(backend: Backend, project: str, domain: str, name: str, notice: str = "") -> bytes:
    eid = _wf_id(project, domain, name)
    ex = backend.admin("GetExecution", execution_pb2.WorkflowExecutionGetRequest(id=eid))
    data = backend.admin("GetExecutionData", execution_pb2.WorkflowExecutionGetDataRequest(id=eid))
    c, spec, meta = ex.closure, ex.spec, ex.spec.metadata
    phase = WORKFLOW_PHASE.Name(c.phase)
    lp = spec.launch_plan
    facts = [
        ("phase", f'<span id="phase">{phase_badge(phase)}</span>'),
        (
            "launch plan",
            link(
                f"{base(lp.project, lp.domain)}/launch_plan/{quote(lp.name)}/version/{quote(lp.version)}",
                f"{lp.name} @ {lp.version}",
            ),
        ),
        ("created", esc(timestamp(c.created_at))),
        ("started", esc(timestamp(c.started_at))),
        ("duration", esc(duration(c.duration))),
        ("updated", esc(timestamp(c.updated_at))),
        ("mode", esc(execution_pb2.ExecutionMetadata.ExecutionMode.Name(meta.mode))),
        ("principal", esc(meta.principal)),
    ]
    if meta.HasField("parent_node_execution"):
        parent = meta.parent_node_execution
        facts.append(
            (
                "parent",
                link(execution_path(parent.execution_id), f"{parent.execution_id.name} / {parent.node_id}"),
            )
        )
    if c.HasField("abort_metadata"):
        facts.append(
            ("aborted", esc(f"{c.abort_metadata.cause} (by {c.abort_metadata.principal or 'unknown'})"))
        )
    body = f'<p class="notice" id="notice">{esc(notice)}</p>' if notice else ""
    body += (
        "<table id='summary'>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts) + "</table>"
    )
    if c.HasField("error"):
        body += "<h2>Error</h2>" + _error_html(c.error)
    body += _signal_forms(backend, eid, execution_path(eid))
    nodes = _nodes(backend, eid)
    start = seconds_of(c.started_at) or min((seconds_of(n.closure.started_at) for n in nodes), default=0.0)
    end = max(
        [seconds_of(n.closure.started_at) + seconds_of(n.closure.duration) for n in nodes]
        + [start + seconds_of(c.duration) if phase in TERMINAL else time.time()]
    )
    rows = _node_rows(backend, eid, nodes, (start, max(end - start, 1e-3)), 0)
    body += (
        "<h2>Nodes</h2><table id='nodes'><tr><th>node</th><th>phase</th><th>started</th><th>timeline</th>"
        "<th>attempts, logs, data</th></tr>" + "".join(rows) + "</table>"
        if rows
        else "<h2>Nodes</h2><p class='muted'>no node has started yet</p>"
    )
    body += (
        "<h2>Inputs</h2><div id='inputs'>"
        + render_literal_map(data.full_inputs, backend.download_url)
        + "</div>"
    )
    body += (
        "<h2>Outputs</h2><div id='outputs'>"
        + render_literal_map(data.full_outputs, backend.download_url, "none (yet)")
        + "</div>"
    )
    return page(
        f"Execution {name}",
        body,
        crumbs=_crumbs(project, domain, ("executions", f"{base(project, domain)}/executions"), (name, "")),
        refresh=0 if phase in TERMINAL else 2,
    )


# -- launch plans, workflows, tasks ---------------------------------------------------------------------------------
def entities(backend: Backend, project: str, domain: str, kind: str, token: str = "") -> bytes:
    title, ids_method, _, _ = ENTITY_KINDS[kind]
    request = common_pb2.NamedEntityIdentifierListRequest(
        project=project,
        domain=domain,
        limit=100,
        token=token,
        sort_by=common_pb2.Sort(key="name", direction=common_pb2.Sort.ASCENDING),
    )
    result = backend.admin(ids_method, request)
    rows = "".join(
        f'<tr class="entity"><td>{link(f"{base(project, domain)}/{kind}/{quote(e.name)}", e.name)}</td></tr>'
        for e in result.entities
    )
    body = (
        f"<table id='entities'><tr><th>name</th></tr>{rows}</table>" if rows else "<p class='muted'>none</p>"
    )
    if result.token:
        body += f"<p>{link('?' + urlencode({'token': result.token}), 'next page →')}</p>"
    return page(f"{title} of {project} / {domain}", body, crumbs=_crumbs(project, domain, (title, "")))


def _variables(variables: Any) -> str:
    if not variables:
        return "<p class='muted'>none</p>"
    rows = "".join(
        f"<tr><th>{esc(n)}</th><td><code>{esc(describe_type(v.type))}</code></td><td>{esc(v.description)}</td></tr>"
        for n, v in sorted(variables.items())
    )
    return f"<table class='interface'>{rows}</table>"


def _interface(kind: str, entity: Any) -> str:
    if kind == "launch_plan":
        params = entity.closure.expected_inputs.parameters
        rows = "".join(
            f"<tr><th>{esc(n)}</th><td><code>{esc(describe_type(p.var.type))}</code></td><td>"
            + (
                "required"
                if p.required
                else ("default " + render_literal(p.default, lambda _: None) if p.HasField("default") else "")
            )
            + "</td></tr>"
            for n, p in sorted(params.items())
        )
        inputs = f"<table class='interface'>{rows}</table>" if rows else "<p class='muted'>none</p>"
        outputs = _variables(entity.closure.expected_outputs.variables)
        wf = entity.spec.workflow_id
        extra = f"<p>workflow {link(f'{base(wf.project, wf.domain)}/workflow/{quote(wf.name)}/version/{quote(wf.version)}', wf.name)}</p>"
    else:
        template = (
            entity.closure.compiled_task.template
            if kind == "task"
            else entity.closure.compiled_workflow.primary.template
        )
        inputs, outputs = (
            _variables(template.interface.inputs.variables),
            _variables(template.interface.outputs.variables),
        )
        extra = f"<p>type <code>{esc(template.type)}</code></p>" if kind == "task" else ""
    return f"{extra}<h2>Inputs</h2>{inputs}<h2>Outputs</h2>{outputs}"


def entity(backend: Backend, project: str, domain: str, kind: str, name: str, version: str = "") -> bytes:
    title, _, list_method, field = ENTITY_KINDS[kind]
    request = common_pb2.ResourceListRequest(
        id=common_pb2.NamedEntityIdentifier(project=project, domain=domain, name=name),
        limit=100,
        sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.DESCENDING),
    )
    result = backend.admin(list_method, request)
    items = list(getattr(result, field))
    if not items:
        raise not_found(f"no {kind.replace('_', ' ')} named {name!r} in {project}/{domain}")
    shown = next((i for i in items if i.id.version == version), items[0])
    path = f"{base(project, domain)}/{kind}/{quote(name)}"
    versions = "".join(
        f"<li>{'<b>' if i is shown else ''}{link(f'{path}/version/{quote(i.id.version)}', i.id.version)}"
        f"{'</b>' if i is shown else ''} <span class='muted'>{esc(timestamp(i.closure.created_at))}</span></li>"
        for i in items
    )
    body = f"<p>version <code id='version'>{esc(shown.id.version)}</code></p>" + _interface(kind, shown)
    if kind == "launch_plan":
        body += f"<p>{link(f'{base(project, domain)}/executions?' + urlencode({'launch_plan': name}), 'executions of this launch plan')}</p>"
    body += f"<h2>Versions</h2><ul id='versions'>{versions}</ul>"
    return page(
        name, body, crumbs=_crumbs(project, domain, (title, f"{base(project, domain)}/{kind}"), (name, ""))
    )
