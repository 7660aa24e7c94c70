#!/bin/sh
# What the official image's entrypoint does, in its order.
set -e
# Options or a config file alone are redis-server's arguments.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
# As root: give /data to redis and run as redis (needs CHOWN, SETUID and SETGID).
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec gosu redis "$0" "$@"
fi
um="$(umask)"
if [ "$um" = '0022' ]; then
  umask 0077
fi
exec "$@"
