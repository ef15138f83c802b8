#!/bin/sh
# setup.sh -- make sure the system packages deepc needs are installed.
#
# Checks for each library header, tool and data file; on Debian/Ubuntu installs the missing
# packages with apt-get (through sudo when not root); elsewhere says what to install.
# `make` runs this once (it leaves build/.deps-ok); `make deps` runs it again.
# Extra packages can be asked for as arguments, e.g. `sh datasets/setup.sh valgrind`.
set -u

missing=""
need() { # need PACKAGE TEST...
    pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
header() { for d in /usr/include /usr/include/x86_64-linux-gnu /usr/include/aarch64-linux-gnu /usr/local/include; do [ -e "$d/$1" ] && return 0; done; return 1; }

need libopenblas-dev header cblas.h
need libopenblas-dev sh -c 'ls /usr/lib/*/libopenblas.so /usr/lib/libopenblas.so 2>/dev/null | grep -q .'
need libcmocka-dev header cmocka.h
need zlib1g-dev header zlib.h
need gnuplot-nox command -v gnuplot
need dataset-fashion-mnist test -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
need fortunes test -d /usr/share/games/fortunes
for extra in "$@"; do
    case $extra in
        fortunes) need fortunes test -d /usr/share/games/fortunes ;;
        *) need "$extra" dpkg -s "$extra" ;;
    esac
done
# one name per package
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
[ -z "${missing# }" ] && exit 0

echo "setup: installing missing packages:$missing"
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "setup: need root (or sudo) to run: apt-get install$missing" >&2; exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # update the package lists only when an install fails for lack of them
    if ! $SUDO apt-get install -y -q $missing >/tmp/deepc-apt.log 2>&1; then
        $SUDO apt-get update -q >>/tmp/deepc-apt.log 2>&1
        if ! $SUDO apt-get install -y -q $missing >>/tmp/deepc-apt.log 2>&1; then
            tail -20 /tmp/deepc-apt.log >&2
            echo "setup: apt-get install$missing failed (log: /tmp/deepc-apt.log)" >&2
            exit 1
        fi
    fi
    echo "setup: done"
else
    cat >&2 <<MSG
setup: these packages are missing:$missing
This machine has no apt-get. Install the equivalents by hand:
  OpenBLAS (with cblas.h), cmocka, zlib, gnuplot,
  and the Fashion-MNIST IDX .gz files in datasets/fashion-mnist/ (or set NN_DATA=DIR).
MSG
    exit 1
fi
