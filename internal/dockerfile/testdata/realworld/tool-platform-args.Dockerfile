# A tool image that downloads a prebuilt binary for the target platform.
FROM --platform=$BUILDPLATFORM alpine:3.20 AS fetch
ARG TARGETPLATFORM
ARG TARGETOS TARGETARCH
ARG VERSION=1.61.0
RUN echo "fetching for $TARGETPLATFORM" && \
    wget -qO /tmp/tool.tgz "https://example.com/tool-${VERSION}-${TARGETOS}-${TARGETARCH}.tar.gz"
COPY dist/${TARGETOS}_${TARGETARCH}/tool /usr/bin/tool

FROM alpine:3.20
COPY --from=fetch /usr/bin/tool /usr/bin/
ENTRYPOINT ["/usr/bin/tool"]
