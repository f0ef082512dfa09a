#!/usr/bin/env python3
"""The receiving end of an OCI runtime's --console-socket, for the tests.

Usage: console-receiver.py SOCKET OUTPUT [INPUT]

Listens on the unix socket SOCKET, accepts one connection and takes the
pseudo-terminal master the runtime sends with SCM_RIGHTS. INPUT, if given,
is written to the terminal (the container reads it). Everything the
container writes to its terminal is copied to OUTPUT until the container's
side is closed (reading the master then fails with EIO) or a deadline
passes. Exits 0 when a terminal was received and read to its end.
"""

import errno
import os
import select
import socket
import sys
import time

DEADLINE_SECONDS = float(os.environ.get("OCI_TEST_DEADLINE", "120")) * 2


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print("usage: console-receiver.py SOCKET OUTPUT [INPUT]", file=sys.stderr)
        return 2
    socket_path, output_path = sys.argv[1], sys.argv[2]
    to_send = sys.argv[3].encode() if len(sys.argv) == 4 else b""
    end = time.monotonic() + DEADLINE_SECONDS

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(1)
    server.settimeout(DEADLINE_SECONDS)
    try:
        conn, _ = server.accept()
    except socket.timeout:
        print("console-receiver: nobody connected", file=sys.stderr)
        return 1
    finally:
        server.close()
        os.unlink(socket_path)

    with conn:
        # The runtime sends a name (the pty's path, or anything) and one fd.
        _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
    if not fds:
        print("console-receiver: the message carried no file descriptor", file=sys.stderr)
        return 1
    master = fds[0]
    for extra in fds[1:]:
        os.close(extra)

    if to_send:
        os.write(master, to_send)

    with open(output_path, "wb") as out:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                print("console-receiver: the terminal was not closed in time", file=sys.stderr)
                return 1
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(master, 4096)
            except OSError as err:
                if err.errno == errno.EIO:  # every slave descriptor is closed
                    break
                raise
            if not data:
                break
            out.write(data)
            out.flush()
    os.close(master)
    return 0


if __name__ == "__main__":
    sys.exit(main())
