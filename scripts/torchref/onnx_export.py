"""Exporting a reference model to ONNX, checked to carry exactly the module's parameters as its initializers."""
import torch

from .onnx_proto import read_onnx


def export_onnx(model, example, path):
    """torch.onnx.export at opset 17 (input 'input', output 'logits', dynamic batch 'N'); returns (read_onnx info,
    initializer names in order)."""
    model.eval()
    torch.onnx.export(
        model, (example,), path, opset_version=17, do_constant_folding=True,
        input_names=['input'], output_names=['logits'],
        dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}},
        keep_initializers_as_inputs=False, export_params=True)
    info = read_onnx(path)
    sd = dict(model.named_parameters())
    order = [t['name'] for t in info['initializers']]
    # The fixture keys everything by initializer name: they must be exactly the module's parameters, byte-identical.
    assert sorted(order) == sorted(sd.keys()), (order, list(sd.keys()))
    for t in info['initializers']:
        assert t['data_type'] == 1, t['name']
        ref = sd[t['name']].detach().numpy().astype('<f4')
        assert list(ref.shape) == t['dims'], (t['name'], ref.shape, t['dims'])
        assert t['raw_data'] == ref.tobytes(), 'initializer %s differs from the module parameter' % t['name']
    assert info['inputs'] == ['input'] and info['outputs'] == ['logits'], (info['inputs'], info['outputs'])
    return info, order
