// lockpath bench peer: reads of the stage-2 root that no NULL check of it dominates in the same function.
// Intraprocedural and path-insensitive about values: a test of the same expression on every path from the
// function's start counts as the guard. Writes (E->arch.pgd = X) and the tests themselves are not reads.
//   spatch --sp-file bench/unguarded-root.cocci -D pgd --no-includes FILES   (kvm->arch.pgd, up to v5.8)
//   spatch --sp-file bench/unguarded-root.cocci -D pgt --no-includes FILES   (kvm->arch.mmu.pgt, mmu->pgt, v5.9+)
virtual pgd
virtual pgt

// ---- kvm->arch.pgd ----

@pgd_test depends on pgd@
expression E, X;
position q;
@@
(
 !E->arch.pgd@q
|
 !READ_ONCE(E->arch.pgd@q)
|
 E->arch.pgd@q == NULL
|
 E->arch.pgd@q != NULL
|
 E->arch.pgd@q = X
)

@pgd_if depends on pgd@
expression E;
position q;
statement S;
@@
 if (\(E->arch.pgd@q\|READ_ONCE(E->arch.pgd@q)\)) S

@pgd_read depends on pgd exists@
identifier fn;
expression E;
position p != {pgd_test.q, pgd_if.q};
statement S;
@@
fn(...) {
  ... when != !E->arch.pgd
      when != !READ_ONCE(E->arch.pgd)
      when != E->arch.pgd == NULL
      when != E->arch.pgd != NULL
      when != if (E->arch.pgd) S
      when != if (READ_ONCE(E->arch.pgd)) S
  E->arch.pgd@p
  ... when any
}

@script:python depends on pgd_read@
p << pgd_read.p;
fn << pgd_read.fn;
@@
print("%s:%s:%s: %s: kvm->arch.pgd read with no dominating NULL check" % (p[0].file, p[0].line, int(p[0].column) + 1, fn))

// ---- kvm->arch.mmu.pgt / mmu->pgt ----

@pgt_test depends on pgt@
expression E, X;
position q;
@@
(
 !E->pgt@q
|
 !E.pgt@q
|
 E->pgt@q == NULL
|
 E.pgt@q == NULL
|
 E->pgt@q != NULL
|
 E.pgt@q != NULL
|
 E->pgt@q = X
|
 E.pgt@q = X
)

@pgt_if depends on pgt@
expression E;
position q;
statement S;
@@
 if (\(E->pgt@q\|E.pgt@q\)) S

@pgt_read depends on pgt exists@
identifier fn;
expression E;
position p != {pgt_test.q, pgt_if.q};
statement S;
@@
fn(...) {
  ... when != !E->pgt
      when != !E.pgt
      when != E->pgt == NULL
      when != E.pgt == NULL
      when != E->pgt != NULL
      when != E.pgt != NULL
      when != if (E->pgt) S
      when != if (E.pgt) S
(
  E->pgt@p
|
  E.pgt@p
)
  ... when any
}

@script:python depends on pgt_read@
p << pgt_read.p;
fn << pgt_read.fn;
@@
print("%s:%s:%s: %s: stage-2 pgt read with no dominating NULL check" % (p[0].file, p[0].line, int(p[0].column) + 1, fn))
