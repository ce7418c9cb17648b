"""Unit-test a Pulumi program that uses Tenantry: no Pulumi CLI, no cloud, no credentials.

Two ways, both on Pulumi's mock runtime
(https://www.pulumi.com/docs/iac/guides/testing/unit/):

- :func:`record` runs a program (a function that declares resources) and returns every
  resource it registered, with its inputs, as a :class:`Recording`. It is the recording
  engine ``tenantry plan`` runs on, made public::

      from tenantry import Tenant, TenantArgs, load_platform, load_tenant
      from tenantry.testing import platform_inputs, record

      platform = load_platform(Path("stacks"))
      acme = load_tenant(Path("tenants/acme.yaml"), platform)
      recording = record(
          lambda: Tenant("acme", TenantArgs.from_spec(acme, platform, platform_inputs()))
      )
      bucket = recording.one("aws:s3/bucket:Bucket")
      assert bucket.inputs["bucket"] == "tenantry-acme-111122223333"

  :func:`record_file` does the same for a program file (a stack's ``__main__.py``).

- Pulumi's own pattern, ``pulumi.runtime.set_mocks(TenantryMocks(), ...)`` and
  ``@pulumi.runtime.test``, with :class:`TenantryMocks` as the mocks: plain echo mocks leave
  the values Tenantry's components compute policies from (KMS key and role ARNs, a launch
  template's version, the platform stack's outputs, the vector store's schema and role)
  empty, and the program fails deep inside a policy document with a ``TypeError``.

:class:`TenantryMocks` answers with deterministic, well-formed values (ARNs in ``account_id``
and ``region``); :data:`PreviewMocks` answers as ``tenantry plan`` does (values only a
deployment knows are :data:`UNKNOWN`).
"""

import base64
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi

from .data.names import tenant_identifier
from .data.store import AdminArgs
from .engine import SECRET, UNKNOWN, Record
from .engine.recorder import LOOKUPS, OfflineMocks
from .engine.recorder import record as _record
from .engine.stack import _run_main
from .platform_ref import PlatformInputs

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "SECRET",
    "UNKNOWN",
    "PreviewMocks",
    "Record",
    "Recording",
    "TenantryMocks",
    "platform_inputs",
    "platform_outputs",
    "record",
    "record_file",
]

ACCOUNT_ID = "111122223333"
REGION = "us-east-1"
CLUSTER = "ml-serving"
PreviewMocks = OfflineMocks
"""Mocks that answer as ``tenantry plan`` does: every resource echoes its inputs, and what
only a deployment knows (ids, ARNs, the platform stack's outputs) is :data:`UNKNOWN`."""

STORE_TYPE = "pulumi-python:dynamic/tenantry:TenantVectorSchema"
NAMESPACE_TYPE = "pulumi-python:dynamic/tenantry:VectorNamespace"


# base64 of a PEM-shaped stand-in certificate (EKS returns the CA this way)
MOCK_CA_DATA = base64.b64encode(
    b"-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n"
).decode()


def platform_outputs(account_id: str = ACCOUNT_ID, region: str = REGION) -> dict[str, Any]:
    """What a deployed platform stack exports (:data:`tenantry.PLATFORM_OUTPUTS`), with
    well-formed values in ``account_id`` and ``region``."""
    return {
        "clusterName": CLUSTER,
        "clusterEndpoint": f"https://0123456789ABCDEF0123456789ABCDEF.gr7.{region}.eks.amazonaws.com",
        "clusterCaData": MOCK_CA_DATA,
        "nodeRoleArn": f"arn:aws:iam::{account_id}:role/tenantry-platform-prod-node",
        "subnetIds": ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
        "platformKeyArn": f"arn:aws:kms:{region}:{account_id}:key/platform-key",
        "vectorDb": {
            "host": f"tenantry-platform-prod-vectors.abc123.{region}.rds.amazonaws.com",
            "port": 5432,
            "dbname": "vectors",
            "user": "tenantry_admin",
            "password": "mock-admin-password",
            "sslmode": "require",
        },
        "tritonAdminSecret": "mock-triton-admin-secret",
    }


def platform_inputs(account_id: str = ACCOUNT_ID, region: str = REGION) -> PlatformInputs:
    """:func:`platform_outputs` as a tenant's :class:`~tenantry.PlatformInputs` (plain values:
    no StackReference), for ``TenantArgs.from_spec(resolved, platform, platform_inputs())``."""
    out = platform_outputs(account_id, region)
    db = out["vectorDb"]
    admin: AdminArgs = {
        "host": db["host"],
        "port": db["port"],
        "dbname": db["dbname"],
        "user": db["user"],
        "password": db["password"],
        "sslmode": db["sslmode"],
    }
    return PlatformInputs(
        cluster_name=out["clusterName"],
        cluster_endpoint=out["clusterEndpoint"],
        cluster_ca_data=out["clusterCaData"],
        node_role_arn=out["nodeRoleArn"],
        subnet_ids=list(out["subnetIds"]),
        platform_key_arn=out["platformKeyArn"],
        vector_db=admin,
        triton_admin_secret=out["tritonAdminSecret"],
    )


_outputs = platform_outputs  # the default, under a name TenantryMocks' parameter hides


def _short(name: str, size: int = 17) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:size]


class TenantryMocks(pulumi.runtime.Mocks):
    """Mocks that answer what Tenantry's components ask for, deterministically.

    Every resource's state is its inputs plus what the provider would compute: ids and ARNs
    in ``account_id``/``region`` (KMS keys ``key/<name>``, IAM roles and policies with their
    path, buckets ``arn:aws:s3:::<bucket>``, launch templates version 1, other AWS resources
    ``arn:aws:<service>:<region>:<account>:<type>/<name>``), the platform stack's outputs on a
    ``StackReference`` (``platform_outputs``, default :func:`platform_outputs`), the vector
    store's schema, role and password, and an adopted EKS cluster for
    ``aws:eks/getCluster``. Subclass and extend :meth:`new_resource` to record or to answer
    your own resources."""

    def __init__(
        self,
        *,
        account_id: str = ACCOUNT_ID,
        region: str = REGION,
        platform_outputs: Mapping[str, Any] | None = None,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.platform_outputs = dict(
            platform_outputs if platform_outputs is not None else _outputs(account_id, region)
        )

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:aws:{service}:{region}:{self.account_id}:{resource}"

    def endpoint(self, cluster: str) -> str:
        return f"https://{_short(cluster, 32).upper()}.gr7.{self.region}.eks.amazonaws.com"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        state = dict(inputs)
        typ, name = args.typ, args.name
        rid = f"{name}-id"
        if typ == "pulumi:pulumi:StackReference":
            return name, {**state, "outputs": dict(self.platform_outputs)}
        if typ == STORE_TYPE:
            ident = tenant_identifier(str(inputs.get("tenant", name)))
            state |= {"schema": ident, "role": ident, "password": "mock-password", "drift": []}
        elif typ == NAMESPACE_TYPE:
            ident = tenant_identifier(str(inputs.get("tenant", name)))
            state |= {"schema": ident, "table": inputs.get("name"), "role": ident, "drift": []}
        elif typ == "aws:kms/key:Key":
            rid = name
            state |= {"arn": self.arn("kms", f"key/{rid}"), "keyId": rid}
        elif typ == "aws:kms/alias:Alias":
            state["arn"] = self.arn("kms", str(inputs.get("name", name)))
        elif typ == "aws:iam/role:Role":
            rid = str(inputs.get("name", name))
            state |= {
                "arn": self.arn("iam", f"role{inputs.get('path', '/')}{rid}", regional=False),
                "uniqueId": f"AROA{_short(rid).upper()}",
            }
        elif typ == "aws:iam/policy:Policy":
            policy = f"policy{inputs.get('path', '/')}{inputs.get('name', name)}"
            state["arn"] = self.arn("iam", policy, regional=False)
        elif typ == "aws:s3/bucket:Bucket":
            rid = str(inputs.get("bucket", name))
            state |= {"arn": f"arn:aws:s3:::{rid}", "bucket": rid}
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            rid = f"lt-{name}"
            state |= {"latestVersion": 1, "arn": self.arn("ec2", f"launch-template/{rid}")}
        elif typ == "aws:eks/cluster:Cluster":
            state |= {
                "arn": self.arn("eks", f"cluster/{inputs.get('name', name)}"),
                "endpoint": self.endpoint(name),
                "certificateAuthority": {"data": "bW9jay1jYQ=="},
                "vpcConfig": {
                    **dict(inputs.get("vpcConfig") or {}),
                    "clusterSecurityGroupId": f"sg-{_short(name)}",
                    "vpcId": f"vpc-{_short(name)}",
                },
            }
        elif typ == "aws:rds/instance:Instance":
            host = f"{inputs.get('identifier', name)}.abc123.{self.region}.rds.amazonaws.com"
            state |= {"address": host, "endpoint": f"{host}:5432", "port": 5432}
        if typ.startswith("aws:") and "arn" not in state:
            service, kind = typ.split(":")[1].split("/")
            state["arn"] = self.arn(service, f"{kind}/{state.get('name', name)}")
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        if args.token == "aws:eks/getCluster:getCluster":
            name = str(args.args.get("name", CLUSTER))
            outs = self.platform_outputs
            return {
                "name": name,
                "arn": self.arn("eks", f"cluster/{name}"),
                "endpoint": self.endpoint(name),
                "version": "1.33",
                "certificateAuthorities": [{"data": "bW9jay1jYQ=="}],
                "vpcConfig": {
                    "clusterSecurityGroupId": f"sg-{_short(name)}",
                    "vpcId": f"vpc-{_short(name)}",
                    "subnetIds": list(outs.get("subnetIds", [])),
                },
            }, []
        return dict(LOOKUPS.get(args.token, {})), []


class Recording(Sequence[Record]):
    """The resources a program registered, sorted by URN (:class:`tenantry.engine.Record`:
    ``type``, ``name``, ``urn``, ``parent``, ``custom``, ``inputs`` with secrets shown as
    :data:`SECRET` and values known only after deployment as :data:`UNKNOWN`)."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = tuple(records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: Any) -> Any:
        return self.records[index]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def of_type(self, type_token: str) -> list[Record]:
        """Every resource of ``type_token`` (``aws:s3/bucket:Bucket``)."""
        return [r for r in self.records if r.type == type_token]

    def one(self, type_token: str) -> Record:
        """The one resource of ``type_token``; ``LookupError`` naming how many there are."""
        found = self.of_type(type_token)
        if len(found) != 1:
            raise LookupError(f"{type_token}: {len(found)} resources, expected exactly one")
        return found[0]

    def named(self, name: str) -> Record:
        """The resource with logical name ``name``; ``LookupError`` listing the names."""
        found = [r for r in self.records if r.name == name]
        if len(found) != 1:
            names = sorted(r.name for r in self.records)
            raise LookupError(f"{name!r}: {len(found)} resources; names: {names}")
        return found[0]

    def children(self, parent: str) -> list[Record]:
        """The resources whose parent's logical name is ``parent``."""
        return [r for r in self.records if r.parent and r.parent.rsplit("::", 1)[1] == parent]

    @property
    def types(self) -> dict[str, int]:
        """Type token -> how many resources of it."""
        out: dict[str, int] = {}
        for r in self.records:
            out[r.type] = out.get(r.type, 0) + 1
        return dict(sorted(out.items()))


def record(
    program: Callable[[], Any],
    *,
    stack: str = "test",
    project: str = "tenantry",
    config: Mapping[str, str] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> Recording:
    """Run ``program`` under Pulumi's mock runtime and return what it registered.

    ``config`` is the stack config as Pulumi passes it (``{"tenantry:tenant": "acme"}``;
    objects as JSON text). ``mocks``: default :class:`TenantryMocks` (well-formed values);
    :data:`PreviewMocks` answers as ``tenantry plan`` does. May be called any number of
    times in one process; an exception from the program propagates once the runtime has
    settled; a duplicate URN (which the real engine refuses) raises ``ValueError``."""
    return Recording(
        _record(
            program, stack=stack, project=project, config=config, mocks=mocks or TenantryMocks()
        )
    )


def record_file(
    program: Path,
    *,
    stack: str = "test",
    project: str = "tenantry",
    config: Mapping[str, str] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> Recording:
    """:func:`record` for a program file (a stack's ``__main__.py``), run as ``__main__``
    as Pulumi runs it."""
    path = Path(program)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such program file")
    return record(lambda: _run_main(path), stack=stack, project=project, config=config, mocks=mocks)
