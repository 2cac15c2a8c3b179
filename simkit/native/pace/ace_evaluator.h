// Per-atom ACE energy and its gradient with respect to every bond vector.
//
// E_i = E0 + (embedding of the densities rho_p) combined with the core term:
//   distance/density: E = F(rho) * f(rho_core) + rho_core
//   zbl:              E = F(rho) * s + rho_core * (1 - s), s a switch on the
//                     shortest bond measured from (rcut_in - dcut_in)
// The caller turns dE_i/dr_ij into forces on i and j and into the virial.
#ifndef SIMKIT_PACE_ACE_EVALUATOR_H
#define SIMKIT_PACE_ACE_EVALUATOR_H

#include "ace_harmonics.h"
#include "ace_model.h"
#include "ace_program.h"
#include "ace_radial.h"

#include <limits>
#include <string>
#include <vector>

namespace simkit_pace {

// Scratch space reused across atoms; one per pair-style instance (no sharing
// between threads, no global state).
struct Workspace {
  int capacity = 0;
  std::vector<double> r, u;                       // per neighbour
  std::vector<double> rad, drad;                  // [neighbour][function]
  std::vector<double> yre, yim, dyre, dyim;       // [neighbour][lm] (dy: x, y, z blocks)
  std::vector<double> rexp, drexp;                // [neighbour][n][lm]: R_nl(r), dR_nl/dr spread over m
  std::vector<double> er, ei, fr, fi;             // per neighbour: sum_n R dE/dA, sum_n R' dE/dA
  std::vector<double> a1, ahr, ahi, dhr, dhi;     // accumulated A and its adjoint
  std::vector<double> value, adjoint, root_scratch; // DAG nodes (re, im interleaved)
  std::vector<double> rho, drho, w1;
};

class AceEvaluator {
 public:
  explicit AceEvaluator(ModelSpec spec);

  int nelements() const { return spec_.nelements(); }
  const std::string &element(int mu) const { return spec_.elements[mu]; }
  double cutoff_A(int mu_i, int mu_j) const { return spec_.bond(mu_i, mu_j).rcut_A; }
  const ElementProgram &program(int mu) const { return programs_[mu]; }
  const BondSpec &bond(int mu_i, int mu_j) const { return spec_.bond(mu_i, mu_j); }
  const RadialTable &table(int mu_i, int mu_j) const { return tables_[mu_i * spec_.nelements() + mu_j]; }

  // Energy (eV) of a central atom of element mu_i with n neighbours at rij
  // (x_j - x_i, Angstrom, 3 per neighbour) of elements mu_j.  Neighbours at or
  // beyond the bond cutoff contribute nothing.  grad receives dE_i/drij.
  double compute_atom(int mu_i, int n, const double *rij, const int *mu_j, double *grad, Workspace &ws) const;

  size_t memory_bytes() const;

 private:
  ModelSpec spec_;
  std::vector<RadialTable> tables_;             // [mu_i * nel + mu_j]
  std::vector<ElementProgram> programs_;
  std::vector<SphericalHarmonics> harmonics_;   // per central element (its lmax)
  int max_func_ = 0;

  // Bond nearest to the ZBL switch (d = r - (rcut_in - dcut_in)), for that scheme only.
  struct ShortestBond {
    double d = std::numeric_limits<double>::infinity();
    double width = 0.0;  // dcut_in of that bond
    int index = -1;
  };
  // dE_i/d(quantities shared by all bonds), consumed by bond_gradients.
  struct Weights {
    double core = 0.0;      // dE/drho_core
    double shortest = 0.0;  // dE/dr of the shortest bond through the ZBL switch
    int shortest_index = -1;
    bool ace = false;       // whether the adjoints dE/dA were computed
  };

  void reserve(Workspace &ws, int n, const ElementProgram &prog) const;
  double embed(int mu_i, const double *rho, double *drho) const;
  // Radial tables, harmonics and the A accumulation for every bond; returns rho_core.
  double accumulate(int mu_i, int n, const double *rij, const int *mu_j, Workspace &ws,
                    ShortestBond &shortest) const;
  void bond_gradients(int mu_i, int n, const int *mu_j, const Weights &w, Workspace &ws, double *grad) const;
};

}  // namespace simkit_pace

#endif
