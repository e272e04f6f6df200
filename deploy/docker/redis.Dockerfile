# Local Redis 7 image from Debian 12's redis-server package (the dev and prod overlays' redis Deployment
# uses it instead of a public registry's redis:7.0-bookworm). Built by deploy/images/build.sh on the
# debootstrap base. uid/gid 999 and /data as the official image; the manifest starts it through `sh -c`
# (to read the password file), so the shell stays.
ARG BASE_IMAGE=marketlens/debian:bookworm
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN groupadd -r -g 999 redis \
 && useradd -r -u 999 -g 999 -d /data -s /bin/sh redis \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/* /usr/share/doc/*/changelog* /usr/share/man/* \
 && mkdir -p /data && chown 999:999 /data
USER 999:999
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
