"""The paper-CNN fixture of scripts/torch_reference.py: the exported model, the data, and for every optimiser config
its per-step metrics and final parameters, described by paper_cnn_mnist.json (layouts: test/fixtures/torch/README.md)."""
import json
import os

import numpy as np
import torch

from .fixture_io import blas_in_use, file_sha256, write_bin
from .models import PaperCNN
from .onnx_export import export_onnx
from .onnx_proto import op_summary
from .optimizer_steps import CONFIGS, run_config
from .param_vector import param_layout

S_STEPS = 3
BATCH = 8
DATA_SEED = 1234
INIT_SEED = 0


def reference_meta():
    """Provenance recorded in both manifests: generator, versions, BLAS, threads."""
    return {
        'generator': 'scripts/torch_reference.py',
        'command': '/usr/bin/python3 scripts/torch_reference.py',
        'torch_version': torch.__version__,
        'numpy_version': np.__version__,
        'blas_libraries': blas_in_use(),
        'num_threads': torch.get_num_threads(),
        'dtype': 'float32',
    }


def write_paper_cnn_fixture(out_dir):
    """Writes the paper-CNN files to out_dir; returns (manifest, initial state_dict, xs, ys), which the Hessian
    fixture starts from."""
    # ---- model + export ----
    torch.manual_seed(INIT_SEED)
    model = PaperCNN()
    init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    onnx_path = os.path.join(out_dir, 'paper_cnn_mnist.onnx')
    info, order = export_onnx(model, torch.zeros(2, 1, 28, 28), onnx_path)
    layout, total = param_layout(model, order)

    # ---- data ----
    g = torch.Generator().manual_seed(DATA_SEED)
    xs = torch.rand(S_STEPS, BATCH, 1, 28, 28, generator=g)
    ys = torch.randint(0, 10, (S_STEPS, BATCH), generator=g)
    xmeta = write_bin(os.path.join(out_dir, 'data_x.f32.bin'), xs.numpy(), '<f4')
    ymeta = write_bin(os.path.join(out_dir, 'data_y.i64.bin'), ys.numpy(), '<i8')

    with torch.no_grad():
        logits0 = model(xs[0])

    configs = []
    for cfg in CONFIGS:
        res = run_config(cfg, init_state, xs, ys, order, out_dir,
                         want_grad_file='grad_step1_sgd_man.f32.bin' if cfg['name'] == 'sgd_man' else None)
        configs.append(res)
        print('%-18s ' % cfg['name'] + ' | '.join(
            'loss %.6f ce %.6f man %.6f corr %d gn %.4f' % (r['loss'], r['ce'], r['man'], r['correct'],
                                                           r['grad_norm']) for r in res['steps']), flush=True)

    manifest = {
        'meta': reference_meta(),
        'model': {
            'onnx': {'file': 'paper_cnn_mnist.onnx', 'sha256': file_sha256(onnx_path),
                     'opset_import': info['opset_import'],
                     'ops': op_summary(info), 'node_op_types': [n['op_type'] for n in info['nodes']],
                     'input': 'input [N,1,28,28] float32', 'output': 'logits [N,10] float32'},
            'description': 'conv5x5 1->64, ReLU, maxpool2; conv5x5 64->64, ReLU, maxpool2; flatten 1024; '
                           'FC 1024->384, ReLU; FC 384->192, ReLU; FC 192->10; torch.manual_seed(%d) default init'
                           % INIT_SEED,
            'params': layout,
            'num_params': total,
            'initial_params_note': 'initial parameters = the ONNX initializers (raw_data, float32 LE), byte-identical '
                                   'to the torch module',
            'man_activations': ['relu(conv1) [B,64,24,24]', 'relu(conv2) [B,64,8,8]', 'relu(fc1) [B,384]',
                                'relu(fc2) [B,192]'],
        },
        'data': {
            'steps': S_STEPS, 'batch': BATCH, 'seed': DATA_SEED,
            'x': xmeta, 'labels': ymeta,
            'note': 'g = torch.Generator().manual_seed(%d); x = torch.rand(S,B,1,28,28, generator=g); '
                    'labels = torch.randint(0,10,(S,B), generator=g); step s uses x[s], labels[s]' % DATA_SEED,
        },
        'initial_logits_batch0': logits0.numpy().tolist(),
        'loss_definition': 'loss = mean CE + (zeta/2) * sum over the 4 ReLU outputs of mean(a^2) over all elements',
        'step_semantics': 'metrics (loss, ce, man, correct, grad_norm) at the pre-update params of that step; '
                          'grad_norm = global L2 norm of the raw loss gradient; then clip_grad_norm_ (coef = '
                          'min(1, c/(norm+1e-6)), all grads *= coef) if clip_norm, then optimizer.step() '
                          '(SGD/Adam add weight_decay*w to the clipped grad; AdamW decays w by (1-lr*wd))',
        'configs': configs,
    }
    with open(os.path.join(out_dir, 'paper_cnn_mnist.json'), 'w') as fh:
        json.dump(manifest, fh, indent=1)
        fh.write('\n')
    return manifest, init_state, xs, ys
