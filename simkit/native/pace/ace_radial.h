// Radial part of ACE: basis functions g_k(r), radial functions R_nl(r) = sum_k
// c_nlk g_k(r), and the per-bond core repulsion, tabulated as cubic Hermite
// splines on a uniform grid of step deltaSplineBins.
//
// Tabulating (rather than evaluating exactly) is part of the potential's
// definition: pacemaker's reference evaluator interpolates with exactly this
// scheme (nodes at k*h carrying values and first derivatives), so a coarse
// deltaSplineBins changes the energy surface and we must reproduce it.
// R_nl is tabulated alongside g_k (one contiguous block per bin) rather than
// formed from interpolated g_k: the small matrix-vector product costs more
// than the extra table traffic, measured on 1000+-function bases.
#ifndef SIMKIT_PACE_ACE_RADIAL_H
#define SIMKIT_PACE_ACE_RADIAL_H

#include "ace_model.h"

#include <vector>

namespace simkit_pace {

// Smooth step used for inner cutoffs and the core-density switch: 1 for
// x <= x_in - delta, 0 for x >= x_in, a quintic in between (C2 at both ends).
double poly_cutoff(double x, double x_in, double delta, double &dfdx);

// Exact values at distance r (Angstrom) of the radial basis g_k (k < nradbase)
// of one bond, including the inner cutoff and the ChebExpCos outer taper.
void radial_basis_exact(const BondSpec &bond, double r, double *g, double *dg);

// Exact per-neighbour core repulsion (eV) and its r-derivative. Zi, Zj are
// the atomic numbers of the pair (used only by the ZBL inner cutoff type).
void core_repulsion_exact(const BondSpec &bond, int Zi, int Zj, double r, double &cr, double &dcr);

class RadialTable {
 public:
  RadialTable(const BondSpec &bond, int Zi, int Zj, double step_A);

  int nbase() const { return nbase_; }
  int nrad() const { return nrad_; }
  int nl() const { return nl_; }
  // Layout of evaluate()'s output: [g_0..g_{nbase-1} | R_{n,l} (n-major) | core].
  int nfunc() const { return nfunc_; }
  int r_offset() const { return nbase_; }
  int core_offset() const { return nbase_ + nrad_ * nl_; }
  double cutoff_A() const { return rcut_A_; }

  // Values and d/dr of all tabulated functions at 0 <= r < cutoff.
  void evaluate(double r, double *value, double *deriv) const;

  size_t memory_bytes() const { return coef_.size() * sizeof(double); }

 private:
  int nbase_, nrad_, nl_, nfunc_, nbins_;
  double step_A_, inv_step_, rcut_A_;
  std::vector<double> coef_;  // [bin][power 0..3][function], cubic in t = (r - r_bin)/step
};

}  // namespace simkit_pace

#endif
