pragma circom 2.1.9;

include "../../node_modules/circomlib/circuits/poseidon.circom";

// Root of a binary Poseidon Merkle tree from a leaf, its position bits (least significant first:
// bit i set means the node at level i is a right child) and the sibling at every level.
// The bits must already be constrained to be boolean by the caller.
template MerkleRootFromPath(depth) {
    signal input leaf;
    signal input indexBits[depth];
    signal input siblings[depth];
    signal output root;

    signal nodes[depth + 1];
    signal lefts[depth];
    signal rights[depth];
    component hashers[depth];
    nodes[0] <== leaf;
    for (var i = 0; i < depth; i++) {
        // bit = 0: (node, sibling); bit = 1: (sibling, node)
        lefts[i] <== nodes[i] + indexBits[i] * (siblings[i] - nodes[i]);
        rights[i] <== siblings[i] + nodes[i] - lefts[i];
        hashers[i] = Poseidon(2);
        hashers[i].inputs[0] <== lefts[i];
        hashers[i].inputs[1] <== rights[i];
        nodes[i + 1] <== hashers[i].out;
    }
    root <== nodes[depth];
}
