# ctlops in a container: for scheduled drift checks (the Kubernetes CronJob in examples/ci/) and
# CI plan jobs. Build: docker build -t ctlops . ; run: docker run --rm -v "$PWD:/work" ctlops
# drift -f /work/ctlops.yaml
#
# Untested by a build in this repository (no container runtime on its CI machine); the stages
# use the same commands as `make build`.

# --- build: ctlops needs cgo for PKCS#11 (crypto11 -> miekg/pkcs11) ---
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=
RUN CGO_ENABLED=1 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
      -o /out/ctlops ./cmd/ctlops

# --- run: Debian slim with a shell (the CronJob's script), CA certificates and the PKCS#11
# runtime: ctlops loads a PKCS#11 module with dlopen, so the image carries glibc and the
# modules of the open tokens (SoftHSM2 for labs, OpenSC for smart cards). A SafeNet eToken
# needs SafeNet Authentication Client's libeTPkcs11.so and the host's pcscd socket: add them in
# an image of your own. Drift and plan never sign, so they need no module at all.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libsofthsm2 opensc-pkcs11 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --home-dir /work --shell /usr/sbin/nologin ctlops \
 && mkdir -p /work && chown ctlops /work
COPY --from=build /out/ctlops /usr/local/bin/ctlops
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/ctlops"]
CMD ["--help"]
