# The Chorus image: one static binary in an empty (scratch) image, run as
# an unprivileged user. Nothing is fetched during the build, so it works
# without an image registry; scripts/docker-build.sh builds the binary and
# the context it needs first:
#
#	scripts/docker-build.sh            # image chorus:dev
#	docker run --rm chorus:dev demo    # a 3-node demo inside the container
#
# The context (build/docker, see .dockerignore) holds
#   chorus  the binary, built with CGO_ENABLED=0 so it needs no libc, and
#           using Go's own DNS resolver (Docker supplies /etc/resolv.conf
#           and /etc/hosts) and no system CA bundle: Chorus trusts only the
#           cluster CA in --certs-dir;
#   tmp/    an empty directory, mode 1777: `chorus demo` keeps its data in
#           a temporary directory;
#   data/   an empty directory owned by the image's user: the default
#           --data-dir of `chorus node` here, and what a named volume
#           mounted at /data starts from (Docker copies the owner into a new
#           volume, so the user can write to it).
FROM scratch
COPY build/docker/chorus /chorus
COPY --chown=10001:10001 build/docker/tmp /tmp
COPY --chown=10001:10001 build/docker/data /data
# A numeric user: the image has no /etc/passwd, and Chorus looks up no
# user name.
USER 10001:10001
ENV TMPDIR=/tmp
# HTTP API, client gRPC, peer gRPC (mutual TLS), gossip (TCP and UDP).
EXPOSE 8080 9090 9190 7946 7946/udp
ENTRYPOINT ["/chorus"]
# The default command runs a TLS node with its data in /data: mount the
# node's certificates at /certs and say how others reach it, e.g.
#   docker run --network host -e CHORUS_ADVERTISE=10.0.0.5
#     -e CHORUS_JOIN=10.0.0.4:7946 -v $PWD/certs:/certs:ro
#     -v chorus-data:/data chorus:dev
# (every flag is also CHORUS_<FLAG>); or give a whole command, as
# deploy/docker-compose.yml does.
CMD ["node", "--data-dir", "/data", "--http-addr", "0.0.0.0:8080", "--grpc-addr", "0.0.0.0:9090", "--peer-addr", "0.0.0.0:9190", "--gossip-addr", "0.0.0.0:7946", "--certs-dir", "/certs"]
