# The Tenantry LLM image: python -m tenantry.llmgateway (the gateway) and, as the shared
# runtimes' adapter-sync container, python -m tenantry.llmadapters (docs/llm.md).
#
# Build from the repository root, push, and pin the platform to the pushed digest:
#   docker build -f .ci/llm-gateway.Dockerfile -t <registry>/tenantry/llm-gateway:<tag> .
#   docker push <registry>/tenantry/llm-gateway:<tag>
#   # stacks/Pulumi.platform.yaml: llmGatewayImage: <registry>/tenantry/llm-gateway@sha256:<digest>
#
# PYTHON_IMAGE: pin it by digest for a reproducible build (python:3.11-slim@sha256:...).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY components ./components
# Tenantry itself without its dependencies (Pulumi, the AWS SDK: the gateway imports none),
# and exactly the gateway's requirements, with pyproject.toml's version ranges.
RUN PYTHONPATH=components python -m tenantry.llm_gateway_image pyproject.toml \
      > /tmp/requirements.txt \
 && pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && pip wheel --no-cache-dir --wheel-dir /wheels -r /tmp/requirements.txt

FROM ${PYTHON_IMAGE}
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --no-deps /wheels/*.whl && rm -rf /wheels \
 && python -c "import tenantry.llmgateway.cli, tenantry.llmgateway.server, tenantry.llmadapters.cli"
# The pod runs as 1000:1000 with a read-only root filesystem (tenantry.k8s.llm_gateway).
USER 1000:1000
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
EXPOSE 8080 9090
ENTRYPOINT ["python", "-m", "tenantry.llmgateway"]
