# grade.mk -- graded exercises; included by the top-level Makefile.
#
#   make grade               grade every exercise (exercises/NN_name/)
#   make grade EX=02         only the exercises whose number is 02
#   make grade HIDDEN=1      the second seed set: other inputs and shapes
#
# Each grader (exercises/NN_name/grade_name.c + the harness exercises/grade.c) is linked three
# ways, into $(B)/grade/:
#   student/NN_name          with the student's file exercises/NN_name/name.c  (make grade)
#   solution/NN_name         with exercises/solutions/NN_name/name.c           (make test)
#   mutant/NN_name/what      with each variant tests/grade_mutants/NN_name/what.c (wrong ones,
#                            and a few correct alternatives; their grade-expect: comments say)
#   info/NN_name             the checks and points alone, for a student file that does not compile
# `make test` builds all of them (grade-bins) and tests/test_grader.c checks their scores; the
# untouched skeletons must score less than full marks there, so keep exercises/NN_name/name.c as
# handed out in this repository.

GRADE_EX        := $(patsubst exercises/%/,%,$(sort $(dir $(wildcard exercises/[0-9][0-9]_*/grade_*.c))))
# 02_linear_backward -> linear_backward
grade_task       = $(patsubst $(firstword $(subst _, ,$(1)))_%,%,$(1))
GRADE_STUDENT   := $(addprefix $(B)/grade/student/,$(GRADE_EX))
GRADE_SOLUTION  := $(foreach e,$(GRADE_EX),$(if $(wildcard exercises/solutions/$(e)/$(call grade_task,$(e)).c),$(B)/grade/solution/$(e)))
GRADE_MUTANT    := $(patsubst tests/grade_mutants/%.c,$(B)/grade/mutant/%,$(sort $(wildcard $(addprefix tests/grade_mutants/,$(addsuffix /*.c,$(GRADE_EX))))))
GRADE_HARNESS   := $(B)/grade/obj/grade.o
GRADE_LINK       = $(CC) $(BASE) $(CFLAGS) -Ilib -Iexercises/$(1) $$< $$(B)/grade/obj/$(1)/grader.o $(GRADE_HARNESS) $$(B)/libnn.a -o $$@ -lcmocka $$(LDLIBS)

.PHONY: grade grade-bins

$(GRADE_HARNESS): exercises/grade.c exercises/grade.h lib/nn.h | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) -Ilib -c $< -o $@

# $(1) = 02_linear_backward, $(2) = linear_backward
define GRADE_RULES
$$(B)/grade/obj/$(1)/grader.o: exercises/$(1)/grade_$(2).c exercises/$(1)/$(2).h exercises/grade.h lib/nn.h | $$(DEPS_OK)
	@mkdir -p $$(@D)
	$$(CC) $$(BASE) $$(CFLAGS) -Ilib -Iexercises -Iexercises/$(1) -c $$< -o $$@
$$(B)/grade/student/$(1): exercises/$(1)/$(2).c exercises/$(1)/$(2).h $$(B)/grade/obj/$(1)/grader.o $(GRADE_HARNESS) $$(B)/libnn.a
	@mkdir -p $$(@D)
	$(call GRADE_LINK,$(1))
$$(B)/grade/solution/$(1): exercises/solutions/$(1)/$(2).c exercises/$(1)/$(2).h $$(B)/grade/obj/$(1)/grader.o $(GRADE_HARNESS) $$(B)/libnn.a
	@mkdir -p $$(@D)
	$(call GRADE_LINK,$(1))
$$(B)/grade/mutant/$(1)/%: tests/grade_mutants/$(1)/%.c exercises/$(1)/$(2).h $$(B)/grade/obj/$(1)/grader.o $(GRADE_HARNESS) $$(B)/libnn.a
	@mkdir -p $$(@D)
	$(call GRADE_LINK,$(1))
# the checks and their points without any student code, for a file that does not compile
# (run only with --list, which calls none of the student's functions)
$$(B)/grade/info/$(1): $$(B)/grade/obj/$(1)/grader.o $(GRADE_HARNESS) $$(B)/libnn.a
	@mkdir -p $$(@D)
	$$(CC) $$(BASE) $$(CFLAGS) $$^ -o $$@ -no-pie -Wl,--unresolved-symbols=ignore-in-object-files -lcmocka $$(LDLIBS)
endef
$(foreach e,$(GRADE_EX),$(eval $(call GRADE_RULES,$(e),$(call grade_task,$(e)))))

grade-bins: $(GRADE_STUDENT) $(GRADE_SOLUTION) $(GRADE_MUTANT)

# the test suite runs every variant (tests/test_grader.c)
test: grade-bins

# make grade: build what it can, keep going past a student file that does not compile (that
# exercise scores 0), print the report and write out/grade/results.json; exits 0 either way.
GRADE_SELECTED = $(if $(EX),$(filter $(addsuffix _%,$(EX)),$(GRADE_EX)),$(GRADE_EX))
grade: $(GRADE_HARNESS) $(B)/libnn.a $(addprefix $(B)/grade/info/,$(GRADE_SELECTED))
	@$(if $(GRADE_SELECTED),,echo "make grade: no exercise numbered '$(EX)' (have: $(GRADE_EX))"; exit 1)
	@mkdir -p out/grade
	@for e in $(GRADE_SELECTED); do \
	    if LC_ALL=C $(MAKE) --no-print-directory -s $(B)/grade/student/$$e > out/grade/$$e.build.txt 2>&1; then \
	        cat out/grade/$$e.build.txt; \
	    else \
	        cat out/grade/$$e.build.txt; rm -f $(B)/grade/student/$$e; \
	        echo "make grade: exercises/$$e does not compile; it scores 0 (the errors are above)"; \
	    fi; \
	done
	@NN_GRADE_HIDDEN=$(HIDDEN) sh exercises/grade.sh $(B) out/grade $(GRADE_SELECTED)
