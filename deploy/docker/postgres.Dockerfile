# Local PostgreSQL 15 image from Debian 12's packages (the dev overlay's StatefulSet uses it instead of a
# public registry's postgres:15-bookworm). Built by deploy/images/build.sh on the debootstrap base.
# Same contract as the manifest expects from the official image: uid/gid 999, POSTGRES_USER, POSTGRES_DB,
# POSTGRES_PASSWORD_FILE and PGDATA; the data directory is initialised on first start
# (deploy/docker/postgres-entrypoint.sh); pg_isready on PATH for the probes.
# Without the JIT (LLVM and Z3, 130 MB; jit=off in the entrypoint) and without Perl (only Debian's cluster
# wrappers use it; PATH takes the server's own binaries): dpkg --purge --force-depends, so the SBOM says so.
# ssl-cert's snakeoil key pair is deleted: a private key made at build time would be the same in every copy.
ARG BASE_IMAGE=marketlens/debian:bookworm
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
# The user first, so the package keeps uid 999; no cluster of Debian's own (the entrypoint makes one in PGDATA).
RUN groupadd -r -g 999 postgres \
 && useradd -r -u 999 -g 999 -d /var/lib/postgresql -s /bin/sh postgres \
 && mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends postgresql-15 \
 && dpkg --purge --force-depends libllvm14 libz3-4 perl perl-modules-5.36 libperl5.36 \
 && rm -rf /usr/lib/postgresql/15/lib/llvmjit* /usr/lib/postgresql/15/lib/bitcode \
 && rm -f /etc/ssl/private/ssl-cert-snakeoil.key /etc/ssl/certs/ssl-cert-snakeoil.pem \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/* /usr/share/doc/*/changelog* /usr/share/man/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R 999:999 /var/lib/postgresql /var/run/postgresql
COPY deploy/docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
USER 999:999
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
