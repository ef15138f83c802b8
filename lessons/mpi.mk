# lessons/mpi.mk -- lesson 20 (data-parallel training on MPI), included by the Makefile.
#
#   make lesson20                 build (installing OpenMPI when missing) and run on NP=2 ranks
#   NP=4 make lesson20            4 ranks (--oversubscribe: more ranks than cores is allowed)
#   make lesson20 ARGS="--quick"  flags for the lesson
#
# Only this file knows about mpicc and mpirun: without MPI the rest of deepc builds and tests as
# before, and tests/test_distributed.c reports itself skipped.

MPICC ?= mpicc
NP    ?= 2
# OpenMPI refuses to run as root unless told that it is on purpose
MPIRUN_FLAGS = --oversubscribe $(if $(filter 0,$(shell id -u)),--allow-run-as-root)

.PHONY: lesson20

$(B)/lesson20: lessons/20_distributed.c $(B)/libnn.a
	@sh datasets/setup.sh libopenmpi-dev openmpi-bin
	$(MPICC) $(BASE) $(CFLAGS) -Ilib $< $(B)/libnn.a -o $@ $(LDLIBS)

lesson20: $(B)/lesson20
	mpirun -np $(NP) $(MPIRUN_FLAGS) ./$(B)/lesson20 $(ARGS)

# with MPI present, `make test` builds lesson 20 so that tests/test_distributed.c really runs it
ifneq ($(shell command -v $(MPICC) 2>/dev/null),)
test: $(B)/lesson20
endif
