"""Minimal protobuf reader for ONNX files (the python `onnx` package is not installed; torch's exporter does not
need it): opsets, node op types, initializers, graph inputs/outputs."""
import numpy as np


def _varint(buf, i):
    r = 0
    sh = 0
    while True:
        b = buf[i]
        i += 1
        r |= (b & 0x7F) << sh
        sh += 7
        if b < 0x80:
            return r, i


def _fields(buf):
    i = 0
    n = len(buf)
    while i < n:
        key, i = _varint(buf, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v = buf[i:i + 8]
            i += 8
        elif wt == 2:
            ln, i = _varint(buf, i)
            v = buf[i:i + ln]
            i += ln
        elif wt == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError('unsupported wire type %d' % wt)
        yield f, wt, v


def _packed_varints(v):
    out = []
    i = 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return out


def read_onnx(path):
    """Parses the parts of an ONNX ModelProto we need: opsets, node op types, initializers, graph inputs/outputs."""
    with open(path, 'rb') as fh:
        buf = fh.read()
    model = {'opset_import': [], 'nodes': [], 'initializers': [], 'inputs': [], 'outputs': []}
    graph = None
    for f, wt, v in _fields(buf):
        if f == 1 and wt == 0:
            model['ir_version'] = v
        elif f == 2 and wt == 2:
            model['producer_name'] = bytes(v).decode()
        elif f == 3 and wt == 2:
            model['producer_version'] = bytes(v).decode()
        elif f == 7 and wt == 2:
            graph = v
        elif f == 8 and wt == 2:
            dom, ver = '', 0
            for f2, wt2, v2 in _fields(v):
                if f2 == 1:
                    dom = bytes(v2).decode()
                elif f2 == 2:
                    ver = v2
            model['opset_import'].append({'domain': dom, 'version': ver})
    for f, wt, v in _fields(graph):
        if f == 1:
            node = {'input': [], 'output': [], 'op_type': None, 'domain': ''}
            for f2, wt2, v2 in _fields(v):
                if f2 == 1:
                    node['input'].append(bytes(v2).decode())
                elif f2 == 2:
                    node['output'].append(bytes(v2).decode())
                elif f2 == 4:
                    node['op_type'] = bytes(v2).decode()
                elif f2 == 7:
                    node['domain'] = bytes(v2).decode()
            model['nodes'].append(node)
        elif f == 5:
            t = {'dims': [], 'data_type': None, 'name': None, 'raw_data': None}
            for f2, wt2, v2 in _fields(v):
                if f2 == 1:
                    if wt2 == 2:
                        t['dims'].extend(_packed_varints(v2))
                    else:
                        t['dims'].append(v2)
                elif f2 == 2:
                    t['data_type'] = v2
                elif f2 == 8:
                    t['name'] = bytes(v2).decode()
                elif f2 == 9:
                    t['raw_data'] = bytes(v2)
            model['initializers'].append(t)
        elif f in (11, 12):
            name = None
            for f2, wt2, v2 in _fields(v):
                if f2 == 1:
                    name = bytes(v2).decode()
            model['inputs' if f == 11 else 'outputs'].append(name)
    return model


def op_summary(info):
    """The distinct op types of a read_onnx model, in first-use order ('domain::Op' outside the default domain)."""
    ops = []
    for n in info['nodes']:
        key = (n['domain'] + '::' if n['domain'] else '') + n['op_type']
        if key not in ops:
            ops.append(key)
    return ops


def initializer_vector(onnx_path):
    """(names in initializer order, {name: dims}, all initializers concatenated as float32 LE): a model's weights."""
    info = read_onnx(onnx_path)
    order, parts, shapes = [], [], {}
    for t in info['initializers']:
        assert t['data_type'] == 1 and t['raw_data'] is not None, '%s: initializer %s is not raw float32' % (onnx_path, t['name'])
        order.append(t['name'])
        shapes[t['name']] = list(t['dims'])
        parts.append(np.frombuffer(t['raw_data'], dtype='<f4'))
    return order, shapes, np.concatenate(parts).astype('<f4')
