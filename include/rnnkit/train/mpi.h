// MPI for data-parallel training (Open MPI from Debian: libopenmpi-dev, openmpi-bin), optional
// at build time (CMake option RNNKIT_MPI: AUTO builds it when MPI is found).
//
//   mpirun -np N rnnkit train --config FILE      every rank runs the same command
//
// A process knows it was started by a launcher from the environment: Open MPI's
// OMPI_COMM_WORLD_SIZE, or PMI_SIZE (MPICH's Hydra, Slurm's srun with PMI).
#pragma once

#include <memory>

#include "rnnkit/train/communicator.h"

namespace rnnkit {

// Whether this build of rnnkit has MPI.
bool mpi_built();

// The job size the launcher announced in the environment (1 when not launched by one), and
// this process's number of ranks on its node (1 likewise).
int launched_job_size();
int launched_local_size();

// Joins the job (MPI_Init_thread; MPI_Finalize when the communicator is destroyed). MPI
// errors come back as Error instead of aborting. Throws Error when rnnkit was built without
// MPI, saying how to get it.
std::unique_ptr<Communicator> join_mpi_job();

}  // namespace rnnkit
