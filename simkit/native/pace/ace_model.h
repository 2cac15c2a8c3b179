// In-memory form of a .yace potential (pacemaker's C-tilde format), validated.
//
// Conventions follow the published PACE formalism (Drautz 2019; Lysogorskiy et
// al. 2021; Bochkarev et al. 2022) and the file layout pace_yaml2yace writes:
//   elements, E0, deltaSplineBins,
//   embeddings: {mu: {ndensity, FS_parameters, npoti, rho_core_cutoff, drho_core_cutoff}}
//   bonds: {[mu_i, mu_j]: {nradmax, lmax, nradbasemax, radbasename, radparameters,
//           radcoefficients, prehc, lambdahc, rcut, dcut, rcut_in, dcut_in, inner_cutoff_type}}
//   functions: {mu: [{mu0, rank, ndensity, num_ms_combs, mus, ns, ls, ms_combs, ctildes}]}
#ifndef SIMKIT_PACE_ACE_MODEL_H
#define SIMKIT_PACE_ACE_MODEL_H

#include "ace_yaml.h"

#include <string>
#include <vector>

namespace simkit_pace {

// Spherical harmonics are tabulated up to this l; larger files are refused
// with a clear message instead of overflowing fixed scratch arrays.
constexpr int kMaxL = 16;

// Each bond is tabulated on floor(rcut/deltaSplineBins) spline bins. More than
// 1e7 (rcut 10 A at 1e-6 A; pacemaker writes 0.001) is refused: past 2^31 the
// count overflowed an int and left a one-bin table with energies off by
// ~100 eV/atom. simkit's Python reader applies the same bound (MAX_SPLINE_BINS
// in simkit/io/yace.py).
constexpr double kMaxSplineBins = 1e7;

enum class RadialKind { SBessel, ChebExpCos, ChebPow };
enum class InnerCutoff { Distance, Density, Zbl };
enum class EmbeddingKind { FinnisSinclair, FinnisSinclairShiftedScaled };

struct EmbeddingSpec {
  int ndensity = 1;
  std::vector<double> fs_parameters;  // (weight, exponent) per density
  EmbeddingKind kind = EmbeddingKind::FinnisSinclairShiftedScaled;
  double rho_core_cutoff = 0.0;
  double drho_core_cutoff = 0.0;
};

struct BondSpec {
  int nradmax = 0;
  int lmax = 0;
  int nradbase = 0;
  RadialKind radial = RadialKind::SBessel;
  double lambda = 0.0;          // radparameters[0] (ChebExpCos, ChebPow)
  std::vector<double> crad;     // [nradmax][lmax+1][nradbase]
  double prehc = 0.0;           // core repulsion prefactor (eV*Angstrom for density/distance)
  double lambdahc = 0.0;        // core repulsion decay, 1/Angstrom^2
  double rcut_A = 0.0;
  double dcut_A = 0.0;
  double rcut_in_A = 0.0;
  double dcut_in_A = 0.0;
  InnerCutoff inner = InnerCutoff::Distance;

  double crad_at(int n, int l, int k) const { return crad[(n * (lmax + 1) + l) * nradbase + k]; }
};

struct FunctionSpec {
  int rank = 0;
  int ndensity = 0;
  int ncomb = 0;
  std::vector<int> mus, ns, ls;   // per factor; ns are 1-based as in the file
  std::vector<int> ms;            // [ncomb][rank]
  std::vector<double> ctildes;    // [ncomb][ndensity]
};

struct ModelSpec {
  std::vector<std::string> elements;
  std::vector<int> atomic_numbers;  // 0 when the symbol is not a chemical element
  std::vector<double> e0_eV;
  double delta_spline_bins_A = 0.0;
  std::vector<EmbeddingSpec> embeddings;
  std::vector<BondSpec> bonds;                      // [mu_i * nelements + mu_j]
  std::vector<std::vector<FunctionSpec>> functions; // per central element

  int nelements() const { return static_cast<int>(elements.size()); }
  const BondSpec &bond(int mu_i, int mu_j) const { return bonds[mu_i * nelements() + mu_j]; }
};

// Builds and validates a model from .yace text; throws FormatError whose message
// names the offending key (e.g. "bonds.[0, 1].rcut: expected a number, got '5x'").
ModelSpec read_model(const std::string &yace_text);

// Atomic number of a chemical symbol, 0 if unknown (needed only for ZBL cores).
int atomic_number(const std::string &symbol);

}  // namespace simkit_pace

#endif
