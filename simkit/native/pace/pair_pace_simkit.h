// LAMMPS pair style `pace` backed by simkit's own ACE evaluator.
//
//   pair_style pace [product | recursive] [chunksize N] [activeset FILE]
//   pair_coeff * * model.yace El1 El2 ... (one element or NULL per atom type)
//
// With `activeset FILE` (written by `simkit ace activeset`) the style also
// computes each atom's extrapolation grade gamma, on the steps a
// `fix ID all pair N pace gamma 1` asks for (it raises the `gamma_flag`
// trigger), and hands it out as the per-atom quantity `gamma`: f_ID in dumps,
// `compute reduce max f_ID`, and `fix halt` through a variable.
//
// The keywords of ML-PACE's pair style are accepted so existing inputs run
// unchanged; this evaluator always uses its product graph, so they have no
// effect.  Works with newton_pair on and off and supports per-atom energy and
// virial (compute pe/atom, stress/atom).
#ifndef SIMKIT_PACE_PAIR_PACE_SIMKIT_H
#define SIMKIT_PACE_PAIR_PACE_SIMKIT_H

#include "pair.h"

#include "ace_activeset.h"
#include "ace_evaluator.h"

#include <memory>
#include <string>
#include <vector>

namespace simkit_pace {

class PairPaceSimkit : public LAMMPS_NS::Pair {
 public:
  explicit PairPaceSimkit(LAMMPS_NS::LAMMPS *instance);
  ~PairPaceSimkit() override;

  void compute(int eflag, int vflag) override;
  void settings(int narg, char **arg) override;
  void coeff(int narg, char **arg) override;
  void init_style() override;
  double init_one(int i, int j) override;
  int pack_reverse_comm(int n, int first, double *buf) override;
  void unpack_reverse_comm(int n, int *indices, double *buf) override;
  double memory_usage() override;
  void *extract(const char *name, int &dim) override;
  void *extract_peratom(const char *name, int &ncol) override;

 private:
  std::unique_ptr<AceEvaluator> ace_;
  std::string potential_file_;
  std::vector<int> type_element_;   // index by LAMMPS type (1-based); -1 = NULL
  Workspace workspace_;
  std::vector<double> nb_rij_, nb_grad_;
  std::vector<int> nb_mu_, nb_index_;
  int reverse_with_virial_ = 0;     // per-atom virial travels with ghost forces
  std::string activeset_file_;
  std::unique_ptr<GammaEvaluator> gamma_;
  GammaWorkspace gamma_workspace_;
  int gamma_flag_ = 0;              // raised by fix pair on the steps it reads gamma
  std::vector<double> gamma_values_;  // per local atom, valid on those steps

  void allocate();
  std::string read_potential_text(const std::string &path);
};

}  // namespace simkit_pace

#endif
