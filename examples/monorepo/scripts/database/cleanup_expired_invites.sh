#!/bin/sh
# Delete invites that expired.
set -eu
psql -X -q -v ON_ERROR_STOP=1 -c "DELETE FROM invites WHERE expires_at < now()"
echo "done: cleanup_expired_invites"
