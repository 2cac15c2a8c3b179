#include "pair_pace_simkit.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace LAMMPS_NS;

namespace simkit_pace {

PairPaceSimkit::PairPaceSimkit(LAMMPS *instance) : Pair(instance)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  // the virial is tallied per bond in compute(); f.r over ghosts would be
  // wrong with newton off, where ghost forces are folded back by this style
  no_virial_fdotr_compute = 1;
  // with newton off this style itself returns ghost forces (and per-atom
  // virial) to their owners: 3 + 6 values per atom
  comm_reverse = 0;
  comm_reverse_off = 9;
}

PairPaceSimkit::~PairPaceSimkit()
{
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairPaceSimkit::allocate()
{
  allocated = 1;
  const int n = atom->ntypes;
  memory->create(setflag, n + 1, n + 1, "pair:setflag");
  memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
  for (int i = 0; i <= n; ++i)
    for (int j = 0; j <= n; ++j) setflag[i][j] = 0;
  type_element_.assign(n + 1, -1);
}

void PairPaceSimkit::settings(int narg, char **arg)
{
  activeset_file_.clear();
  for (int i = 0; i < narg; ++i) {
    if (strcmp(arg[i], "product") == 0 || strcmp(arg[i], "recursive") == 0) continue;
    if (strcmp(arg[i], "chunksize") == 0) {
      if (i + 1 >= narg) error->all(FLERR, "pair_style pace: 'chunksize' needs a value");
      if (utils::inumeric(FLERR, arg[i + 1], false, lmp) <= 0)
        error->all(FLERR, "pair_style pace: 'chunksize' must be a positive integer, got {}", arg[i + 1]);
      ++i;
      continue;
    }
    if (strcmp(arg[i], "activeset") == 0) {
      if (i + 1 >= narg) error->all(FLERR, "pair_style pace: 'activeset' needs a file name");
      activeset_file_ = arg[++i];
      continue;
    }
    error->all(FLERR, "pair_style pace: unknown keyword '{}' (accepted: product, recursive, chunksize N, "
               "activeset FILE)", arg[i]);
  }
}

std::string PairPaceSimkit::read_potential_text(const std::string &path)
{
  // Rank 0 reads and broadcasts so a large potential is not read N times from
  // a shared filesystem, and every rank parses identical bytes.
  long size = -1;
  std::string text, reason;
  if (comm->me == 0) {
    std::string resolved = utils::get_potential_file_path(path);
    std::ifstream in(resolved.empty() ? path : resolved, std::ios::binary);
    if (in) {
      std::ostringstream buf;
      buf << in.rdbuf();
      text = buf.str();
      size = static_cast<long>(text.size());
      if (size > INT_MAX) size = -2;
    } else {
      reason = std::strerror(errno);
    }
  }
  MPI_Bcast(&size, 1, MPI_LONG, 0, world);
  if (size == -2) error->all(FLERR, "pair_style pace: potential file {} is larger than 2 GiB", path);
  if (size < 0) {
    int len = static_cast<int>(reason.size());
    MPI_Bcast(&len, 1, MPI_INT, 0, world);
    reason.resize(len);
    MPI_Bcast(reason.data(), len, MPI_CHAR, 0, world);
    error->all(FLERR, "pair_style pace: cannot open potential file {}: {}", path, reason);
  }
  text.resize(size);
  MPI_Bcast(text.data(), static_cast<int>(size), MPI_CHAR, 0, world);
  return text;
}

void PairPaceSimkit::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  const int ntypes = atom->ntypes;
  if (narg != 3 + ntypes)
    error->all(FLERR,
               "pair_coeff for pace expects '* * <file.yace>' and {} element names (one per atom type, "
               "NULL to skip a type); got {} arguments",
               ntypes, narg);
  if (strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_coeff for pace must start with '* *', got '{} {}'", arg[0], arg[1]);
  potential_file_ = arg[2];

  ModelSpec spec;
  try {
    spec = read_model(read_potential_text(potential_file_));
  } catch (const FormatError &e) {
    error->all(FLERR, "pair_style pace: invalid potential file {}: {}", potential_file_, e.what());
  }

  std::string known;
  for (const auto &el : spec.elements) known += (known.empty() ? "" : " ") + el;
  int mapped = 0;
  for (int t = 1; t <= ntypes; ++t) {
    const std::string name = arg[2 + t];
    type_element_[t] = -1;
    if (name == "NULL") continue;
    for (int mu = 0; mu < spec.nelements(); ++mu)
      if (spec.elements[mu] == name) type_element_[t] = mu;
    if (type_element_[t] < 0)
      error->all(FLERR, "pair_coeff pace: element '{}' (atom type {}) is not in potential file {}; it defines: {}",
                 name, t, potential_file_, known);
    ++mapped;
  }
  if (mapped == 0) error->all(FLERR, "pair_coeff pace: every atom type is NULL");

  try {
    ace_ = std::make_unique<AceEvaluator>(std::move(spec));
  } catch (const std::exception &e) {
    error->all(FLERR, "pair_style pace: cannot prepare potential {}: {}", potential_file_, e.what());
  }
  gamma_.reset();
  if (!activeset_file_.empty()) {
    try {
      gamma_ = std::make_unique<GammaEvaluator>(*ace_, read_active_set(read_potential_text(activeset_file_), *ace_));
    } catch (const FormatError &e) {
      error->all(FLERR, "pair_style pace: invalid active-set file {}: {}", activeset_file_, e.what());
    } catch (const std::exception &e) {
      error->all(FLERR, "pair_style pace: cannot prepare active set {}: {}", activeset_file_, e.what());
    }
    // fix pair checks at its creation that the pointer exists
    gamma_values_.assign(std::max(atom->nmax, 1), 0.0);
  }
  for (int i = 1; i <= ntypes; ++i)
    for (int j = 1; j <= ntypes; ++j) setflag[i][j] = (type_element_[i] >= 0 && type_element_[j] >= 0) ? 1 : 0;

  if (comm->me == 0) {
    long nodes = 0, roots = 0;
    for (int mu = 0; mu < ace_->nelements(); ++mu) {
      const ElementProgram &p = ace_->program(mu);
      nodes += p.nnodes() + p.ntail();
      roots += p.nroots() + p.ntail();
    }
    utils::logmesg(lmp, "pair_style pace (simkit): {} element(s) [{}], {} coupled products in a {}-node graph\n",
                   ace_->nelements(), known, roots, nodes);
  }
}

void PairPaceSimkit::init_style()
{
  if (!ace_) error->all(FLERR, "pair_style pace: pair_coeff has not been given");
  neighbor->add_request(this, NeighConst::REQ_FULL);
}

double PairPaceSimkit::init_one(int i, int j)
{
  if (setflag[i][j] == 0) error->all(FLERR, "All pair coeffs are not set");
  const int a = type_element_[i], b = type_element_[j];
  double cut = std::max(ace_->cutoff_A(a, b), ace_->cutoff_A(b, a));
  return cut;
}

void PairPaceSimkit::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  double **x = atom->x;
  double **f = atom->f;
  const int *type = atom->type;
  const int nlocal = atom->nlocal;
  const int nall = nlocal + atom->nghost;
  const bool newton = force->newton_pair != 0;

  if (!newton) {
    // Ghost forces are accumulated here and folded back below; LAMMPS clears
    // only owned atoms when newton is off.
    for (int i = nlocal; i < nall; ++i) f[i][0] = f[i][1] = f[i][2] = 0.0;
    if (vflag_atom)
      for (int i = nlocal; i < nall; ++i)
        for (int c = 0; c < 6; ++c) vatom[i][c] = 0.0;
  }

  const int inum = list->inum;
  const int *ilist = list->ilist;
  const int *numneigh = list->numneigh;
  int **firstneigh = list->firstneigh;

  // gamma costs a second pass over each environment and a K x K product, so it
  // is computed only on the steps fix pair asks for it
  const bool grading = gamma_ && gamma_flag_;
  if (gamma_ && gamma_values_.size() < static_cast<size_t>(atom->nmax)) gamma_values_.resize(atom->nmax);
  if (grading) {
    std::fill(gamma_values_.begin(), gamma_values_.begin() + nlocal, 0.0);
  }

  for (int ii = 0; ii < inum; ++ii) {
    const int i = ilist[ii];
    const int mu_i = type_element_[type[i]];
    if (mu_i < 0) continue;
    const int *jlist = firstneigh[i];
    const int jnum = numneigh[i];
    nb_rij_.resize(3 * static_cast<size_t>(jnum));
    nb_grad_.resize(3 * static_cast<size_t>(jnum));
    nb_mu_.resize(jnum);
    nb_index_.resize(jnum);
    int n = 0;
    for (int jj = 0; jj < jnum; ++jj) {
      const int j = jlist[jj] & NEIGHMASK;
      const int mu_j = type_element_[type[j]];
      if (mu_j < 0) continue;
      const double dx = x[j][0] - x[i][0], dy = x[j][1] - x[i][1], dz = x[j][2] - x[i][2];
      const double rc = ace_->cutoff_A(mu_i, mu_j);
      if (dx * dx + dy * dy + dz * dz >= rc * rc) continue;
      nb_rij_[3 * n] = dx;
      nb_rij_[3 * n + 1] = dy;
      nb_rij_[3 * n + 2] = dz;
      nb_mu_[n] = mu_j;
      nb_index_[n] = j;
      ++n;
    }
    const double energy = ace_->compute_atom(mu_i, n, nb_rij_.data(), nb_mu_.data(), nb_grad_.data(), workspace_);
    if (grading) gamma_values_[i] = gamma_->gamma(mu_i, n, nb_rij_.data(), nb_mu_.data(), gamma_workspace_);
    if (eflag_global) eng_vdwl += energy;
    if (eflag_atom) eatom[i] += energy;
    for (int k = 0; k < n; ++k) {
      const int j = nb_index_[k];
      const double gx = nb_grad_[3 * k], gy = nb_grad_[3 * k + 1], gz = nb_grad_[3 * k + 2];
      f[i][0] += gx;
      f[i][1] += gy;
      f[i][2] += gz;
      f[j][0] -= gx;
      f[j][1] -= gy;
      f[j][2] -= gz;
      // Each bond term is tallied once, in full (newton semantics); ghost shares
      // are returned to owners either by LAMMPS (newton on) or below.
      if (vflag_either)
        ev_tally_xyz(i, j, nlocal, 1, 0.0, 0.0, gx, gy, gz, -nb_rij_[3 * k], -nb_rij_[3 * k + 1],
                     -nb_rij_[3 * k + 2]);
    }
  }

  if (!newton) {
    reverse_with_virial_ = vflag_atom ? 1 : 0;
    comm->reverse_comm(this, reverse_with_virial_ ? 9 : 3);
  }
}

int PairPaceSimkit::pack_reverse_comm(int n, int first, double *buf)
{
  double **f = atom->f;
  int m = 0;
  for (int i = first; i < first + n; ++i) {
    buf[m++] = f[i][0];
    buf[m++] = f[i][1];
    buf[m++] = f[i][2];
    if (reverse_with_virial_)
      for (int c = 0; c < 6; ++c) buf[m++] = vatom[i][c];
  }
  return m;
}

void PairPaceSimkit::unpack_reverse_comm(int n, int *indices, double *buf)
{
  double **f = atom->f;
  int m = 0;
  for (int i = 0; i < n; ++i) {
    const int j = indices[i];
    f[j][0] += buf[m++];
    f[j][1] += buf[m++];
    f[j][2] += buf[m++];
    if (reverse_with_virial_)
      for (int c = 0; c < 6; ++c) vatom[j][c] += buf[m++];
  }
}

void *PairPaceSimkit::extract(const char *name, int &dim)
{
  dim = 0;
  if (gamma_ && strcmp(name, "gamma_flag") == 0) return &gamma_flag_;
  return nullptr;
}

void *PairPaceSimkit::extract_peratom(const char *name, int &ncol)
{
  ncol = 0;
  if (gamma_ && strcmp(name, "gamma") == 0) return gamma_values_.data();
  return nullptr;
}

double PairPaceSimkit::memory_usage()
{
  double bytes = Pair::memory_usage();
  if (ace_) bytes += static_cast<double>(ace_->memory_bytes());
  if (gamma_) bytes += static_cast<double>(gamma_->memory_bytes() + gamma_values_.capacity() * sizeof(double));
  bytes += static_cast<double>(workspace_.rad.capacity() + workspace_.drad.capacity()) * sizeof(double);
  return bytes;
}

}  // namespace simkit_pace
