#!/usr/bin/env bash
# Golden responses: one committed file per resource and representation
# (tests/api/golden/<service>/<name>.json), compared with what the real
# cloud-api answers against a real PostgreSQL and RabbitMQ. Ids, times and
# the base URL are normalised (golden.py). A change of representation is a
# change of a golden file, seen in review; NUBE_GOLDEN_UPDATE=1 rewrites them.
#
#   service_golden.sh CLOUD_API SOURCE_DIR
set -u

API_BIN=${1:?usage: service_golden.sh CLOUD_API SOURCE_DIR}
SRC=${2:?usage: service_golden.sh CLOUD_API SOURCE_DIR}
export NUBE_SRC=$SRC
# shellcheck source=tests/lib/services.sh
. "$SRC/tests/lib/services.sh"
GOLDEN=$SRC/tests/api/golden
MODE=check
[ "${NUBE_GOLDEN_UPDATE:-0}" = 1 ] && MODE=update

test_api_cloud "$API_BIN" rabbit <<'CONF' # servers are created: their builds are cast
[catalog]
image = @URL@/image
CONF
field() { python3 -c "import json; print(json.load(open('$BODY'))$1)"; }
# golden NAME METHOD PATH [curl args]: the response must match golden/NAME.json
golden() {
    local name=$1 out
    shift
    req "$@"
    case $STATUS in
    2??) ;;
    *)
        bad "$name: $* answered $STATUS $(head -c 300 "$BODY")"
        return
        ;;
    esac
    mkdir -p "$(dirname "$GOLDEN/$name.json")"
    if out=$(python3 "$SRC/tests/api/golden.py" "$MODE" "$GOLDEN/$name.json" "$URL" <"$BODY"); then
        ok "$name ($MODE)"
    else
        bad "$name differs from its golden file:"
        printf '%s\n' "$out" | head -n 40 | sed 's/^/    /'
    fi
}

# ---- what the representations show ----
req POST /v3/projects -d '{"project":{"name":"golden","description":"a project","domain_id":"default"}}'
PROJECT=$(field "['project']['id']")
req POST /v3/users -d "{\"user\":{\"name\":\"gold\",\"password\":\"s3cret\",\"email\":\"gold@example.org\",\"default_project_id\":\"$PROJECT\"}}"
USER=$(field "['user']['id']")
req POST /v3/roles -d '{"role":{"name":"golden-role"}}'
ROLE=$(field "['role']['id']")
req POST /compute/v2.1/flavors -d '{"flavor":{"name":"gold.small","id":"gold-1","ram":256,"vcpus":1,"disk":1,"swap":64,"OS-FLV-EXT-DATA:ephemeral":2,"rxtx_factor":1.5}}'
# a fixed public key: its fingerprint is fixed too
PUB='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ/q1TMoexCAklrjhLnWgCSwj2lRdCCJw2p4UIoIhCK0 golden@nube'
req POST /compute/v2.1/os-keypairs -d "{\"keypair\":{\"name\":\"gold-key\",\"public_key\":\"$PUB\"}}"
req POST /compute/v2.1/os-server-groups -d '{"server_group":{"name":"gold-group","policies":["anti-affinity"]}}'
GROUP=$(field "['server_group']['id']")
req POST /image/v2/images -d '{"name":"gold-image","disk_format":"raw","container_format":"bare","min_ram":64,"tags":["t1"],"os_distro":"debian"}'
IMAGE=$(field "['id']")
printf 'golden image data\n' >"$TMP/image.raw"
curl -s -o /dev/null -X PUT -H "X-Auth-Token: $TOKEN" -H "Content-Type: application/octet-stream" --data-binary @"$TMP/image.raw" "$URL/image/v2/images/$IMAGE/file"
req POST "/image/v2/images/$IMAGE/members" -d "{\"member\":\"$PROJECT\"}"
req POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"gold-vm\",\"imageRef\":\"$IMAGE\",\"flavorRef\":\"gold-1\",\"key_name\":\"gold-key\",\"metadata\":{\"k\":\"v\"}}}"
SERVER=$(field "['server']['id']") || { echo "FAIL: server create: $(cat "$BODY")"; exit 1; }

# ---- identity ----
golden identity/project GET "/v3/projects/$PROJECT"
golden identity/user GET "/v3/users/$USER"
golden identity/role GET "/v3/roles/$ROLE"
golden identity/roles GET /v3/roles
golden identity/domain GET /v3/domains/default
golden identity/domains GET /v3/domains
req GET /v3/services
SERVICE=$(python3 -c "import json; print(next(s['id'] for s in json.load(open('$BODY'))['services'] if s['type'] == 'compute'))")
golden identity/service GET "/v3/services/$SERVICE"
req GET /v3/endpoints
ENDPOINT=$(python3 -c "import json; print(next(e['id'] for e in json.load(open('$BODY'))['endpoints'] if e['service_id'] == '$SERVICE' and e['interface'] == 'public'))")
golden identity/endpoint GET "/v3/endpoints/$ENDPOINT"
# ---- compute ----
golden compute/flavor GET /compute/v2.1/flavors/gold-1
golden compute/flavors GET "/compute/v2.1/flavors?minRam=256&minDisk=1&limit=1"
golden compute/flavors_detail GET "/compute/v2.1/flavors/detail?minRam=256&minDisk=1&limit=1"
golden compute/keypair GET /compute/v2.1/os-keypairs/gold-key
golden compute/keypairs GET /compute/v2.1/os-keypairs
golden compute/server_group GET "/compute/v2.1/os-server-groups/$GROUP"
golden compute/server GET "/compute/v2.1/servers/$SERVER"
golden compute/servers GET /compute/v2.1/servers
golden compute/limits GET /compute/v2.1/limits
# ---- image ----
golden image/image GET "/image/v2/images/$IMAGE"
golden image/member GET "/image/v2/images/$IMAGE/members/$PROJECT"
golden image/schema_image GET /image/v2/schemas/image

test_done
