"""Projects and domains (flyteadmin's project manager); domains come from the sandbox configuration."""

from __future__ import annotations

from typing import Any

from flyteidl.admin import project_pb2

from airflow_provider_flyte.sandbox.admin.context import AdminContext
from airflow_provider_flyte.sandbox.admin.validation import (
    missing,
    require,
    validate_dns_label,
    validate_labels,
)
from airflow_provider_flyte.sandbox.errors import already_exists, invalid, not_found
from airflow_provider_flyte.sandbox.filters import PROJECT, ListQuery

MAX_NAME_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 300


class Projects:
    def __init__(self, ctx: AdminContext) -> None:
        self.ctx = ctx

    # -- helpers used by other managers ----------------------------------------------------------------------------
    def check_project_domain(self, project: str, domain: str) -> None:
        """flyteadmin's ``ValidateProjectAndDomain``: the project must be registered and active, the domain known."""
        row = self.ctx.store.one("SELECT state FROM projects WHERE identifier = ?", (project,))
        if row is None:
            raise invalid(
                f"failed to validate that project [{project}] and domain [{domain}] are registered, err: "
                f"[project [{project}] does not exist; register it with RegisterProject or use one of the "
                f"configured projects: {', '.join(self.ctx.config.projects)}]"
            )
        if row["state"] == project_pb2.Project.ARCHIVED:
            raise invalid(f"project [{project}] is not active (it is archived)")
        if domain not in self.ctx.config.domains:
            raise invalid(
                f"domain [{domain}] is unrecognized by system; known domains: {', '.join(self.ctx.config.domains)}"
            )

    def _with_domains(self, blob: bytes) -> Any:
        project = project_pb2.Project.FromString(blob)
        del project.domains[:]
        for d in self.ctx.config.domains:
            project.domains.add(id=d, name=d)
        return project

    def seed(self) -> None:
        """Register the configured projects (idempotent)."""
        for identifier in self.ctx.config.projects:
            if self.ctx.store.one("SELECT id FROM projects WHERE identifier = ?", (identifier,)) is None:
                self._insert(project_pb2.Project(id=identifier, name=identifier, description=""))

    def _insert(self, project: Any) -> None:
        self.ctx.store.insert(
            "projects",
            {
                "identifier": project.id,
                "name": project.name,
                "description": project.description,
                "state": project.state,
                "org": project.org,
                "proto": project.SerializeToString(),
            },
        )

    # -- RPCs ------------------------------------------------------------------------------------------------------
    def register(self, request: Any) -> Any:
        if not request.HasField("project"):
            raise missing("project")
        project = request.project
        self._validate(project)
        if project.domains:
            raise invalid(
                "Domains are currently only set system wide. Please retry without domains included in your request."
            )
        if self.ctx.store.one("SELECT id FROM projects WHERE identifier = ?", (project.id,)) is not None:
            raise already_exists(f"project with identifier [{project.id}] already exists")
        with self.ctx.store.transaction():
            self._insert(project)
        return project_pb2.ProjectRegisterResponse()

    @staticmethod
    def _validate(project: Any) -> None:
        require(project.id, "project_id")
        validate_dns_label(project.id, "project_id")
        require(project.name, "project_name")
        if len(project.name) > MAX_NAME_LENGTH:
            raise invalid(
                f"project_name is too long: at most {MAX_NAME_LENGTH} characters, got {len(project.name)}"
            )
        if len(project.description) > MAX_DESCRIPTION_LENGTH:
            raise invalid(
                f"project_description is too long: at most {MAX_DESCRIPTION_LENGTH} characters, "
                f"got {len(project.description)}"
            )
        validate_labels(project.labels, "project labels")

    def update(self, project: Any) -> Any:
        require(project.id, "project_id")
        row = self.ctx.store.one("SELECT id FROM projects WHERE identifier = ?", (project.id,))
        if row is None:
            raise not_found(f"missing entity of type project with identifier {project.id}")
        if project.name and len(project.name) > MAX_NAME_LENGTH:
            raise invalid(
                f"project_name is too long: at most {MAX_NAME_LENGTH} characters, got {len(project.name)}"
            )
        if len(project.description) > MAX_DESCRIPTION_LENGTH:
            raise invalid(f"project_description is too long: at most {MAX_DESCRIPTION_LENGTH} characters")
        validate_labels(project.labels, "project labels")
        stored = project_pb2.Project()
        stored.CopyFrom(project)
        del stored.domains[:]
        with self.ctx.store.transaction():
            self.ctx.store.update(
                "projects",
                row["id"],
                {
                    "name": stored.name,
                    "description": stored.description,
                    "state": stored.state,
                    "proto": stored.SerializeToString(),
                },
            )
        return project_pb2.ProjectUpdateResponse()

    def get(self, request: Any) -> Any:
        require(request.id, "project_id")
        row = self.ctx.store.one("SELECT proto FROM projects WHERE identifier = ?", (request.id,))
        if row is None:
            raise not_found(f"missing entity of type project with identifier {request.id}")
        return self._with_domains(row["proto"])

    def list(self, request: Any) -> Any:
        where: list[str] = []
        if not request.filters:
            where.append(f"projects.state <> {project_pb2.Project.ARCHIVED}")
        query = ListQuery.of(
            PROJECT,
            "ListProjects",
            request,
            where=where,
            default_sort="projects.identifier ASC",
            require_limit=False,
        )
        rows, token = self.ctx.page(query)
        out = project_pb2.Projects(token=token)
        out.projects.extend(self._with_domains(r["proto"]) for r in rows)
        return out

    def domains(self) -> Any:
        out = project_pb2.GetDomainsResponse()
        for d in self.ctx.config.domains:
            out.domains.add(id=d, name=d)
        return out
