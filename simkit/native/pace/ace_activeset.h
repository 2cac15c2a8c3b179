// The extrapolation grade of ACE (D-optimality against an active set).
//
// gamma_i = max_j |sum_k B_k(i) (A^-1)_kj|, where B_k(i) are the B-basis
// functions of atom i's environment and A holds the B-vectors of the active set
// chosen from the training data (Lysogorskiy et al., npj Comput. Mater. 9, 174
// (2023)). B_k = A_{mu n 1} for rank 1 and Re sum_c cg_c prod_t A_{mu_t n_t l_t
// m_ct} otherwise, with the generalised Clebsch-Gordan coefficients cg of the
// B-basis; the A-basis is the one the energy uses (same radial tables and
// harmonics), accumulated here in full since the energy graph skips channels
// it does not read.
//
// File (written by `simkit ace activeset`, see simkit/ace/activeset.py): a YAML
// header with `format`, `elements` and per element its functions (rank, mus,
// ns, ls, num_ms_combs, ms_combs flattened, gen_cgs), then a line `# inverses`,
// then per element "<name> <K>" and K*K numbers of A^-1, row-major.
#ifndef SIMKIT_PACE_ACE_ACTIVESET_H
#define SIMKIT_PACE_ACE_ACTIVESET_H

#include "ace_evaluator.h"

#include <string>
#include <vector>

namespace simkit_pace {

struct ProjectionFunction {
  int rank = 0;
  int ncomb = 0;
  std::vector<int> mus, ns, ls;  // mus as the potential's element indices; ns 1-based
  std::vector<int> ms;           // [ncomb][rank]
  std::vector<double> cg;        // [ncomb]
};

struct ElementActiveSet {
  std::vector<ProjectionFunction> functions;
  std::vector<double> inverse;  // [K][K]
  int nbase = 0, nrad = 0, lmax = 0;  // extents of the A-basis the functions read
  int size() const { return static_cast<int>(functions.size()); }
};

// Parses `text` for a potential whose elements are `model_elements` (the file
// may list them in another order); every element must be present.  Throws
// FormatError naming the key or the element block.
std::vector<ElementActiveSet> read_active_set(const std::string &text, const AceEvaluator &ace);

struct GammaWorkspace {
  std::vector<double> val, der, yre, yim, dyre, dyim, a1, ar, ai, b, g;
};

class GammaEvaluator {
 public:
  GammaEvaluator(const AceEvaluator &ace, std::vector<ElementActiveSet> sets);

  // B-projections of one atom (K values of its element), neighbours as for AceEvaluator::compute_atom.
  void projections(int mu_i, int n, const double *rij, const int *mu_j, GammaWorkspace &ws) const;
  double gamma(int mu_i, int n, const double *rij, const int *mu_j, GammaWorkspace &ws) const;
  int size(int mu) const { return sets_[mu].size(); }
  size_t memory_bytes() const;

 private:
  const AceEvaluator &ace_;
  std::vector<ElementActiveSet> sets_;
  std::vector<SphericalHarmonics> harmonics_;
};

}  // namespace simkit_pace

#endif
