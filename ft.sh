#!/bin/bash
# fine-tune variants: name lr epochs [extra]
set -e
cd /work/x18
S=/work/wt18/.venv/bin/sing
GM=/work/wt18/src/sing/pretrained/gm.safetensors
name=$1; lr=$2; ep=$3; shift 3
export OMP_NUM_THREADS=1
/usr/bin/time -f "%U user %e wall" nice -n 10 $S train --data my-data --out runs/$name --preset small --stages sing --init-from $GM --epochs-sing $ep --batch-size 16 --lr $lr --eval-notes 12 --no-progress "$@" > logs/$name.log 2>&1
nice -n 10 $S evaluate --model runs/$name/model.safetensors --data my-data --split test --out eval/$name.json --pitch-estimator both > eval/$name.md 2>&1
