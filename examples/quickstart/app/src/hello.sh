#!/bin/sh
# Prints where it runs; the build records this output in build-output.txt.
echo "hello from $(hostname) in ${APP_HOME:-?}"
