// Compilation of one element's C-tilde functions into a product DAG.
//
// rho_p = sum_funcs sum_combs c_p * Re(prod_t A_{mu_t n_t l_t m_t}).  Many
// functions share the same m-combination products, and long products share
// their sub-products, so every distinct product is built once as
// (sub-product) x (single A): a recursive evaluation in the sense of the PACE
// paper.  Two symmetries shrink the graph further:
//  * A_{l,-m} = (-1)^m conj(A_{l,m}): only m >= 0 is accumulated; negative-m
//    leaves are read through a sign/conjugation multiplier.
//  * a product and its all-m-negated partner are conjugates up to (-1)^{sum m},
//    so only one of each pair is a node; users reference it with a multiplier.
// Gradients use the adjoint of this graph (reverse accumulation), so forces cost
// about twice the energy rather than rank times more.
#ifndef SIMKIT_PACE_ACE_PROGRAM_H
#define SIMKIT_PACE_ACE_PROGRAM_H

#include "ace_model.h"

#include <vector>

namespace simkit_pace {

struct ElementProgram {
  int ndensity = 1;
  int nelements = 0;
  int nrad = 0;      // radial channels of A (max over this element's bonds)
  int lmax = 0;
  int nlm = 0;       // (lmax+1)(lmax+2)/2 half-harmonics per (mu_j, n)
  int nradbase = 0;  // rank-1 channels (max over bonds)

  // Half-harmonics (lm < nlm_used) of each (mu_j, n) channel that products
  // read; the rest is neither accumulated nor differentiated (0 = unused).
  std::vector<int> nlm_used;         // [mu_j][n]
  std::vector<int> l_of_lm;          // l of each half-harmonic index
  std::vector<double> rank1_coef;    // [mu_j][k][p]
  bool has_rank1 = false;

  // nodes [0, nleaves) are A entries; later nodes are products op(a) * b
  int nleaves = 0;
  std::vector<int> leaf_half;        // index into the m >= 0 A array
  std::vector<double> leaf_sr, leaf_si;
  struct Op {
    int a, b;        // operands: a is any earlier node, b is always a leaf
    double sr, si;   // multipliers on a's (re, im): conjugation and sign
  };
  std::vector<Op> ops;               // node nleaves + i is ops[i]; read by later nodes

  std::vector<int> root_node;        // nodes among the above that carry coefficients
  std::vector<double> root_coef;     // [p][root], density-major for contiguous dot products

  // Products no other node reads (the large majority) need only Re(value) and
  // a real adjoint, so they are kept apart and evaluated at half the cost.
  std::vector<Op> tail;
  std::vector<double> tail_coef;     // [p][tail]

  int nnodes() const { return nleaves + static_cast<int>(ops.size()); }
  int nroots() const { return static_cast<int>(root_node.size()); }
  int ntail() const { return static_cast<int>(tail.size()); }
  int half_size() const { return nelements * nrad * nlm; }
  int half_index(int mu, int n, int l, int m) const { return (mu * nrad + n) * nlm + l * (l + 1) / 2 + m; }
};

ElementProgram compile_element(const ModelSpec &model, int mu0);

// Values of all nodes (interleaved re, im) from the m >= 0 A array, and the
// densities rho_p (added to whatever rho holds).  scratch: nroots + ntail.
void run_forward(const ElementProgram &prog, const double *ahr, const double *ahi, double *value, double *rho,
                 double *scratch);

// Reverse sweep: given dE/drho_p, fills dE/dA for the m >= 0 A array (dhr, dhi
// must be zeroed by the caller).  adjoint: 2*nnodes, scratch: nroots + ntail.
void run_backward(const ElementProgram &prog, const double *value, const double *drho, double *adjoint,
                  double *scratch, double *dhr, double *dhi);

}  // namespace simkit_pace

#endif
