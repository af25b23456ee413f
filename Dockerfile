# weir-server in a small runtime image.
#
#   docker build -t weir .
#   docker run -p 4222:4222 -p 8222:8222 -v weir-data:/data weir
#
# Stage 1 builds the release binaries; stage 2 carries only weir-server and weir on a slim
# Debian base, running as an unprivileged user with JetStream state on the /data volume.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin weir-server --bin weir \
 && strip target/release/weir-server target/release/weir

FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 weir \
 && useradd --system --uid 10001 --gid weir --home-dir /data --shell /usr/sbin/nologin weir \
 && mkdir -p /data /etc/weir \
 && chown weir:weir /data
COPY --from=build /src/target/release/weir-server /usr/local/bin/weir-server
COPY --from=build /src/target/release/weir /usr/local/bin/weir
COPY deploy/weir.conf /etc/weir/weir.conf
USER weir
VOLUME ["/data"]
# Clients, monitoring (/healthz, /varz, /jsz, /metrics).
EXPOSE 4222 8222
ENTRYPOINT ["/usr/local/bin/weir-server"]
CMD ["-c", "/etc/weir/weir.conf"]
