# Kubestats: one static binary on a minimal base, running as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/kubestats . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kubestats /usr/local/bin/kubestats
# The database lives on the volume; the binary needs no other files.
COPY --from=build --chown=65532:65532 /out/data /data
ENV KUBESTATS_DB=/data/kubestats.db \
    KUBESTATS_ADDR=:8080
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s CMD ["/usr/local/bin/kubestats", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/kubestats"]
CMD ["serve"]
