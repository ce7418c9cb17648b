"""The platform stack's exact child contract, under the recording engine (the real program
``stacks/__main__.py`` as stack ``platform``, example platform config and tenants)."""

from __future__ import annotations

import json

import yaml

from tenantry.aws.node_group import AMI_TYPE
from tenantry.engine import SECRET, UNKNOWN
from tenantry.planner import mig_parted_config
from tenantry.platform.charts import CHARTS, GPU_OPERATOR, MIG_CONFIG_MAP
from tenantry.spec.tiers import TIERS
from tenantry.tags import platform_tags, tenant_tags
from tests.components.helpers import parent_name, platform, tenants

from .helpers import by_name, example_plan, platform_records, taggable

P = "platform"
LLM = f"{P}-llm"
EXPECTED_CUSTOM = {
    # the shared base model of the example platform, llama-3-8b (SharedLlms)
    ("kubernetes:core/v1:Namespace", f"{LLM}-namespace"),
    ("kubernetes:core/v1:ConfigMap", f"{LLM}-routes"),
    # its gateway, the salt key and the fences of tenantry-llm (tenantry.k8s.llm_gateway)
    ("kubernetes:core/v1:Secret", f"{LLM}-salt"),
    ("kubernetes:core/v1:ServiceAccount", f"{LLM}-gateway-sa"),
    ("kubernetes:apps/v1:Deployment", f"{LLM}-gateway"),
    ("kubernetes:core/v1:Service", f"{LLM}-gateway-service"),
    ("kubernetes:monitoring.coreos.com/v1:PodMonitor", f"{LLM}-gateway-monitor"),
    ("kubernetes:policy/v1:PodDisruptionBudget", f"{LLM}-gateway-pdb"),
    # the Redis the gateway's 2 replicas share
    ("kubernetes:core/v1:Secret", f"{LLM}-redis-secret"),
    ("kubernetes:core/v1:ServiceAccount", f"{LLM}-redis-sa"),
    ("kubernetes:apps/v1:Deployment", f"{LLM}-redis"),
    ("kubernetes:core/v1:Service", f"{LLM}-redis-service"),
    ("kubernetes:security.istio.io/v1:AuthorizationPolicy", f"{LLM}-redis-authz"),
    *{
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"{LLM}-netpol-{pol}")
        for pol in ("default-deny", "runtime-from-gateway", "gateway-callers", "redis-from-gateway")
    },
    ("kubernetes:security.istio.io/v1:PeerAuthentication", f"{LLM}-mtls"),
    ("kubernetes:security.istio.io/v1:PeerAuthentication", f"{LLM}-gateway-mtls"),
    ("kubernetes:security.istio.io/v1:AuthorizationPolicy", f"{LLM}-gateway-authz"),
    ("kubernetes:security.istio.io/v1:AuthorizationPolicy", f"{LLM}-runtime-authz"),
    ("aws:iam/role:Role", f"{LLM}-llama-3-8b-role"),
    ("aws:iam/rolePolicy:RolePolicy", f"{LLM}-llama-3-8b-adapters-read"),
    ("aws:eks/podIdentityAssociation:PodIdentityAssociation", f"{LLM}-llama-3-8b-pod-identity"),
    ("kubernetes:core/v1:ServiceAccount", f"{LLM}-llama-3-8b-sa"),
    ("kubernetes:core/v1:ConfigMap", f"{LLM}-llama-3-8b-adapters"),
    ("kubernetes:serving.kserve.io/v1alpha2:LLMInferenceService", f"{LLM}-llama-3-8b-llmisvc"),
    ("pulumi:providers:aws", f"{P}-aws"),
    ("pulumi:providers:kubernetes", f"{P}-cluster-k8s"),
    ("aws:kms/key:Key", f"{P}-key-key"),
    ("aws:kms/alias:Alias", f"{P}-key-alias"),
    ("aws:iam/role:Role", f"{P}-node-role-role"),
    *{
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"{P}-node-role-{pol}")
        for pol in (
            "AmazonEKSWorkerNodePolicy",
            "AmazonEKS_CNI_Policy",
            "AmazonEC2ContainerRegistryReadOnly",
        )
    },
    *{
        (t, f"{P}-pool-{pool}-{suffix}")
        for pool in ("h100", "a100", "h100-tenant-initech")
        for t, suffix in (
            ("aws:ec2/launchTemplate:LaunchTemplate", "launch-template"),
            ("aws:eks/nodeGroup:NodeGroup", "node-group"),
        )
    },
    ("kubernetes:core/v1:Namespace", f"{P}-gpu-operator-namespace"),
    ("kubernetes:core/v1:ConfigMap", f"{P}-gpu-operator-mig-config"),
    ("kubernetes:helm.sh/v3:Release", f"{P}-gpu-operator-release"),
    ("kubernetes:core/v1:Namespace", f"{P}-kserve-cert-manager-namespace"),
    ("kubernetes:helm.sh/v3:Release", f"{P}-kserve-cert-manager"),
    ("kubernetes:core/v1:Namespace", f"{P}-kserve-namespace"),
    ("kubernetes:helm.sh/v3:Release", f"{P}-kserve-crd"),
    ("kubernetes:helm.sh/v3:Release", f"{P}-kserve-release"),
    ("kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime", f"{P}-kserve-tritonserver"),
    ("kubernetes:serving.kserve.io/v1alpha1:ClusterStorageContainer", f"{P}-kserve-storage"),
    (
        "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime",
        f"{P}-kserve-tritonserver-tensorflow",
    ),
    ("kubernetes:core/v1:ConfigMapPatch", f"{P}-kserve-knative-features"),
    ("kubernetes:core/v1:ConfigMapPatch", f"{P}-kserve-knative-domain"),
    ("kubernetes:core/v1:ConfigMapPatch", f"{P}-kserve-knative-network"),
    ("kubernetes:core/v1:NamespacePatch", f"{P}-mesh-knative-serving-mesh"),
    ("kubernetes:security.istio.io/v1:RequestAuthentication", f"{P}-mesh-token-issuers"),
    *{("kubernetes:scheduling.k8s.io/v1:PriorityClass", f"{P}-priority-{tier}") for tier in TIERS},
    ("aws:rds/subnetGroup:SubnetGroup", f"{P}-vector-db-subnets"),
    ("aws:ec2/securityGroup:SecurityGroup", f"{P}-vector-db-sg"),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"{P}-vector-db-from-cluster"),
    ("aws:rds/instance:Instance", f"{P}-vector-db-instance"),
    # No CostAllocationTag: the example platform does not activate them (a member account).
    *{
        (t, f"{P}-observability-{suffix}")
        for t, suffix in (
            ("kubernetes:helm.sh/v3:Release", "operator-crds"),
            ("kubernetes:helm.sh/v3:Release", "otel-collector"),
            ("kubernetes:core/v1:ConfigMap", "fleet-dashboard"),
            # the shared base LLMs' token metering (the example platform declares one)
            ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "llm-metering"),
            ("kubernetes:core/v1:ConfigMapPatch", "knative-observability"),
            ("aws:cloudtrail/trail:Trail", "trail"),
            ("aws:iam/role:Role", "collector-role"),
            ("aws:iam/rolePolicy:RolePolicy", "collector-policy"),
            ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "collector-pod-identity"),
            *(
                (t, f"{bucket}-{part}")
                for bucket in ("store", "audit")
                for t, part in (
                    ("aws:s3/bucket:Bucket", "bucket"),
                    (
                        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                        "public-access-block",
                    ),
                    ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "ownership"),
                    ("aws:s3/bucketVersioning:BucketVersioning", "versioning"),
                    (
                        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                        "encryption",
                    ),
                    (
                        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                        "lifecycle",
                    ),
                    ("aws:s3/bucketPolicy:BucketPolicy", "policy"),
                )
            ),
            (
                "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                "audit-object-lock",
            ),
        )
    },
}
EXPECTED_COMPONENTS = {
    ("tenantry:platform:Platform", P, None),
    ("tenantry:platform:PlatformKey", f"{P}-key", P),
    ("tenantry:platform:NodeRole", f"{P}-node-role", P),
    ("tenantry:platform:Cluster", f"{P}-cluster", P),
    ("tenantry:platform:SharedGpuPool", f"{P}-pool-h100", P),
    ("tenantry:platform:SharedGpuPool", f"{P}-pool-a100", P),
    ("tenantry:platform:TenantGpuNodes", f"{P}-pool-h100-tenant-initech", P),
    ("tenantry:platform:GpuOperator", f"{P}-gpu-operator", P),
    ("tenantry:platform:KServe", f"{P}-kserve", P),
    ("tenantry:platform:PriorityClasses", f"{P}-priority", P),
    ("tenantry:platform:PlatformMesh", f"{P}-mesh", P),
    ("tenantry:platform:VectorDatabase", f"{P}-vector-db", P),
    ("tenantry:platform:CostAllocationTags", f"{P}-cost-tags", P),
    ("tenantry:platform:SharedLlms", LLM, P),
    ("tenantry:platform:PlatformObservability", f"{P}-observability", P),
}


def test_exact_children() -> None:
    recs = platform_records()
    assert {(r.type, r.name) for r in recs if r.custom} == EXPECTED_CUSTOM
    assert {(r.type, r.name, parent_name(r)) for r in recs if not r.custom} == EXPECTED_COMPONENTS
    for r in recs:  # every child named from its parent component
        parent = parent_name(r)
        assert parent is None or r.name.startswith(f"{parent}-"), r.urn


def test_shared_pools_are_sized_and_labelled_by_the_planner() -> None:
    recs = by_name(platform_records())
    fleet = example_plan()
    for sp in platform().shared_pools:
        planned = fleet.pool(sp.name)
        assert planned is not None and planned.nodes >= 1
        ng = recs[f"{P}-pool-{sp.name}-node-group"].inputs
        assert ng["scalingConfig"] == {
            "minSize": sp.min_nodes,
            "desiredSize": max(planned.nodes, sp.min_nodes),
            "maxSize": sp.max_nodes,
        }
        assert ng["scalingConfig"]["desiredSize"] == planned.nodes  # the examples fit
        assert ng["nodeGroupName"] == f"tenantry-platform-prod-{sp.name}"
        assert ng["amiType"] == AMI_TYPE == "AL2023_x86_64_NVIDIA"
        assert ng["instanceTypes"] == [sp.instance_type]
        assert ng["capacityType"] == "ON_DEMAND"
        assert ng["labels"] == {
            "tenantry.dev/pool": sp.name,
            "nvidia.com/mig.config": planned.node_configs[0],
        }
        assert ng["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
        assert ng["nodeRoleArn"] == UNKNOWN and ng["subnetIds"] == [UNKNOWN]
        lt = recs[f"{P}-pool-{sp.name}-launch-template"].inputs
        assert lt["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
            "instanceMetadataTags": "disabled",
        }
        ebs = lt["blockDeviceMappings"][0]["ebs"]
        assert ebs["encrypted"] == "true" and ebs["volumeType"] == "gp3"


def test_isolated_tenants_get_nodes_of_their_own_from_the_plan() -> None:
    """initech (isolated) has demand on h100: the planner carves whole nodes for it
    (``h100@initech``) and the platform declares them as a node group of their own, with
    the tenant's label and taint; the shared pool's nodes carry no tenant label or taint."""
    recs = by_name(platform_records())
    carved = example_plan().pool("h100@initech")
    assert carved is not None and carved.nodes >= 1
    ng = recs[f"{P}-pool-h100-tenant-initech-node-group"].inputs
    assert ng["scalingConfig"] == {
        "minSize": carved.nodes,
        "desiredSize": carved.nodes,
        "maxSize": carved.nodes,
    }
    assert ng["nodeGroupName"] == "tenantry-initech-pool-h100"
    assert ng["instanceTypes"] == ["p5.48xlarge"]
    assert ng["labels"] == {
        "tenantry.dev/pool": "h100",
        "tenantry.dev/tenant": "initech",
        "nvidia.com/mig.config": carved.node_configs[0],
    }
    assert ng["taints"] == [
        {"key": "tenantry.dev/tenant", "value": "initech", "effect": "NO_SCHEDULE"},
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"},
    ]
    for sp in platform().shared_pools:
        shared = recs[f"{P}-pool-{sp.name}-node-group"].inputs
        assert "tenantry.dev/tenant" not in shared["labels"]
        assert all(t["key"] != "tenantry.dev/tenant" for t in shared["taints"])
    assert (
        recs[f"{P}-pool-h100-tenant-initech-launch-template"].inputs["metadataOptions"][
            "httpTokens"
        ]
        == "required"
    )


def test_mig_parted_config_map_is_the_planners_config() -> None:
    cm = by_name(platform_records())[f"{P}-gpu-operator-mig-config"].inputs
    assert cm["metadata"]["name"] == MIG_CONFIG_MAP
    assert cm["metadata"]["namespace"] == "gpu-operator"
    assert set(cm["data"]) == {"config.yaml"}
    assert yaml.safe_load(cm["data"]["config.yaml"]) == mig_parted_config(example_plan())


def test_gpu_operator_values() -> None:
    values = by_name(platform_records())[f"{P}-gpu-operator-release"].inputs["values"]
    assert values["driver"] == {"enabled": False}
    assert values["mig"] == {"strategy": "mixed"}
    assert {"name": "WITH_REBOOT", "value": "true"} in values["migManager"]["env"]
    assert values["migManager"]["config"] == {
        "create": False,
        "name": MIG_CONFIG_MAP,
        "default": "all-disabled",
    }
    # the node agents run on a tenant's own nodes too (tenant taint tolerated), and NFD's
    # worker, which labels the nodes the operator deploys to, as well
    agents = [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "tenantry.dev/tenant", "operator": "Exists", "effect": "NoSchedule"},
    ]
    assert values["daemonsets"]["tolerations"] == agents
    assert values["node-feature-discovery"]["worker"]["tolerations"] == agents


def test_the_otel_collector_is_bounded() -> None:
    values = by_name(platform_records())[f"{P}-observability-otel-collector"].inputs["values"]
    assert values["resources"] == {
        "requests": {"cpu": "200m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
        "limits": {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "1Gi"},
    }


def test_helm_charts_are_pinned() -> None:
    recs = by_name(platform_records())
    releases = {r.inputs["name"]: r.inputs for r in recs.values() if "helm.sh" in r.type}
    assert set(releases) == {c.release for c in CHARTS}
    pins = {
        "cert-manager": "v1.18.2",
        "kserve-crd": "v0.20.0",
        "kserve": "v0.20.0",
        "gpu-operator": "v25.10.0",
        "prometheus-operator-crds": "31.0.0",
        "tenantry-otel-collector": "0.170.0",
    }
    for c in CHARTS:
        rel = releases[c.release]
        assert rel["version"] == c.version == pins[c.release]
        assert rel["chart"] == c.chart and rel["namespace"] == c.namespace
        assert rel["atomic"] is True and rel["createNamespace"] is False
        if c.repo:
            assert rel["repositoryOpts"] == {"repo": c.repo}
        else:
            assert c.chart.startswith("oci://") and "repositoryOpts" not in rel
    assert GPU_OPERATOR.repo == "https://helm.ngc.nvidia.com/nvidia"
    assert releases["kserve"]["chart"] == "oci://ghcr.io/kserve/charts/kserve-resources"
    kserve = releases["kserve"]["values"]["kserve"]
    assert kserve["controller"]["deploymentMode"] == "Knative"
    assert kserve["storage"] == {"s3": {"region": "us-east-1"}, "enableModelcar": True}
    assert "servingruntime" not in kserve  # runtimes are not the chart's business any more


def test_priority_classes_match_the_tiers() -> None:
    recs = by_name(platform_records())
    for tier, policy in TIERS.items():
        pc = recs[f"{P}-priority-{tier}"].inputs
        assert pc["metadata"]["name"] == policy.priority_class
        assert pc["value"] == policy.priority_value
        assert pc["globalDefault"] is False
        assert pc["preemptionPolicy"] == "PreemptLowerPriority"


def test_every_taggable_aws_resource_carries_the_platform_tags() -> None:
    """Every AWS resource of the platform stack carries the platform's tags, but what it
    holds for one tenant alone (initech's nodes carved from h100) carries the tenant's."""
    tags = platform_tags(platform())
    initech = tenant_tags(tenants()["initech"])
    own = {f"{P}-pool-h100-tenant-initech-{x}" for x in ("launch-template", "node-group")}
    assert tags == {
        "tenant": "platform",
        "cost-center": "platform",
        "tier": "platform",
        "environment": "prod",
        "managed-by": "tenantry",
    }
    checked = 0
    for r in platform_records():
        expected = initech if r.name in own else tags
        if r.type.startswith("aws:") and taggable(r.type):
            assert r.inputs.get("tags") == expected, r.urn
            checked += 1
        for spec in r.inputs.get("tagSpecifications", []):
            assert spec["tags"] == expected, r.urn
    # key, node role, 3 launch templates, 3 node groups (2 shared pools, initech's own nodes),
    # 4 for the DB, the shared LLM runtime's role and Pod Identity association, 2 buckets,
    # the trail, the collector role and its pod identity association
    assert checked == 19
    provider = by_name(platform_records())[f"{P}-aws"].inputs
    assert json.loads(provider["defaultTags"])["tags"] == tags
    assert provider["region"] == "us-east-1"


def test_a_tenants_carved_nodes_are_tagged_for_the_tenant() -> None:
    """Issue 21: initech's nodes of the h100 pool (2 p5.48xlarge, $80,358.40/month) were
    tagged tenant=platform, so AWS cost allocation billed them to the platform. The node
    group, its launch template and what it launches (instances, volumes, network
    interfaces: the tag specifications) carry the tenant's cost-allocation tags."""
    recs = by_name(platform_records())
    expected = {
        "tenant": "initech",
        "cost-center": "CC-3307",
        "tier": "isolated",
        "environment": "prod",
        "managed-by": "tenantry",
        "compliance": "hipaa",  # the tenant's metadata.labels, under the mandatory keys
    }
    assert recs[f"{P}-pool-h100-tenant-initech-node-group"].inputs["tags"] == expected
    template = recs[f"{P}-pool-h100-tenant-initech-launch-template"].inputs
    assert template["tags"] == expected
    assert {s["resourceType"]: s["tags"] for s in template["tagSpecifications"]} == {
        rt: expected for rt in ("instance", "volume", "network-interface")
    }
    # a shared pool's own nodes stay the platform's
    assert recs[f"{P}-pool-h100-node-group"].inputs["tags"]["tenant"] == "platform"
    # without the tenants' tags (PlatformArgs.from_spec without tenant_tags): the
    # platform's tags, with the tenant named
    from tenantry.platform.gpu_pool import carved_tags

    fallback = carved_tags(platform_tags(platform()), "initech", None)
    assert fallback == {**platform_tags(platform()), "tenant": "initech"}


def test_cost_allocation_tags_are_not_activated_unless_asked() -> None:
    recs = platform_records()
    assert [r.name for r in recs if "costAllocationTag" in r.type] == []
    assert [r.name for r in recs if r.parent and r.parent.endswith(f"::{P}-cost-tags")] == []


def test_rds_vector_database_is_private_encrypted_pg16() -> None:
    recs = by_name(platform_records())
    db = recs[f"{P}-vector-db-instance"].inputs
    assert db["engine"] == "postgres" and db["engineVersion"] == "16"
    assert db["storageEncrypted"] is True and db["kmsKeyId"] == UNKNOWN  # the platform key
    assert db["publiclyAccessible"] is False
    assert db["password"] == SECRET
    assert db["deletionProtection"] is True and db["skipFinalSnapshot"] is False
    assert db["dbSubnetGroupName"] == recs[f"{P}-vector-db-subnets"].inputs["name"]
    rule = recs[f"{P}-vector-db-from-cluster"].inputs
    assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (5432, 5432, "tcp")
    assert rule["referencedSecurityGroupId"] == UNKNOWN  # the cluster security group
    assert "cidrIpv4" not in rule


def test_kms_key_and_node_role() -> None:
    recs = by_name(platform_records())
    key = recs[f"{P}-key-key"].inputs
    assert key["enableKeyRotation"] is True and key["multiRegion"] is False
    policy = json.loads(key["policy"])
    admins = next(s for s in policy["Statement"] if s["Sid"] == "PlatformAdmins")
    assert admins["Principal"]["AWS"] == ["arn:aws:iam::111122223333:role/platform-admin"]
    assert "kms:Decrypt" not in admins["Action"]
    assert recs[f"{P}-key-alias"].inputs["name"] == "alias/tenantry/platform"
    role = recs[f"{P}-node-role-role"].inputs
    trust = json.loads(role["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]


def test_adopted_cluster_provider_uses_an_exec_token() -> None:
    prov = by_name(platform_records())[f"{P}-cluster-k8s"].inputs
    cfg = json.loads(prov["kubeconfig"])
    exec_ = cfg["users"][0]["user"]["exec"]
    assert exec_["command"] == "aws" and exec_["args"][:2] == ["eks", "get-token"]
    assert "token" not in cfg["users"][0]["user"]
    assert prov["enableServerSideApply"] in (True, "true")
