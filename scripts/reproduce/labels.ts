/** How RESULTS.md names the grid's datasets, partitions, algorithms and variants. */

export const DATASET_LABEL: Record<string, string> = { mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST' };
export const PARTITION_LABEL: Record<string, string> = { 'dirichlet0.3': 'δ = 0.3', 'dirichlet0.6': 'δ = 0.6', iid: 'IID' };
export const ALGO_LABEL: Record<string, string> = { fedavg: 'FedAvg', fedsam: 'FedSAM', feddyn: 'FedDyn', fedspeed: 'FedSpeed' };

export function variantLabel(algorithm: string, zeta: number): string {
  return `${ALGO_LABEL[algorithm] ?? algorithm}${zeta > 0 ? ` + MAN (ζ = ${zeta})` : ''}`;
}
