/** Following Identity nodes back to the tensor they forward, without looping on a malformed (cyclic) graph. */
import t from 'tap';
import { throughIdentity } from '../../src/onnx/identity-chain.js';
import type { NodeProto } from '../../src/onnx/proto.js';

const node = (opType: string, input: string, output: string): NodeProto => ({ opType, input: [input], output: [output] });
const producerOf = (nodes: NodeProto[]) => new Map(nodes.map((n) => [n.output![0]!, n]));

t.test('walks back through Identity chains to the first other producer', async (t) => {
  const mm = node('MatMul', 'x', 'h');
  const r = throughIdentity('y', producerOf([mm, node('Identity', 'h', 'a'), node('Identity', 'a', 'y')]));
  t.equal(r.tensor, 'h');
  t.equal(r.node, mm);
  t.same(throughIdentity('x', producerOf([mm])), { tensor: 'x', node: undefined }, 'a graph input has no producer');
});

t.test('stops on a cycle instead of looping (a fuzzed graph once hung the converter here)', async (t) => {
  const self = node('Identity', 'a', 'a');
  t.equal(throughIdentity('a', producerOf([self])).tensor, 'a');
  const r = throughIdentity('a', producerOf([node('Identity', 'b', 'a'), node('Identity', 'a', 'b')]));
  t.ok(['a', 'b'].includes(r.tensor), `stopped at ${r.tensor}`);
});
