pragma circom 2.1.9;

include "../../node_modules/circomlib/circuits/bitify.circom";
include "../../node_modules/circomlib/circuits/comparators.circom";

// Reduces a value below 2^valueBits modulo n (1 <= n <= 2^depth) and returns the remainder as
// `depth` little-endian bits. The quotient and remainder are witnesses, constrained here.
template ReduceIndex(valueBits, depth) {
    signal input value;
    signal input n;
    signal output index;
    signal output indexBits[depth];

    signal quotient <-- value \ n;
    index <-- value % n;
    // value < 2^valueBits and n <= 2^depth, so quotient * n + index never wraps the field.
    value === quotient * n + index;

    component quotientRange = Num2Bits(valueBits);
    quotientRange.in <== quotient;

    component indexRange = Num2Bits(depth);
    indexRange.in <== index;
    indexBits <== indexRange.out;

    component below = LessThan(depth + 1);
    below.in[0] <== index;
    below.in[1] <== n;
    below.out === 1;
}
