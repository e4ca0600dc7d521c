pragma circom 2.1.9;

// Proof of Random Access (storage layer).
//
// Statement: "I know the CHALLENGES chunks selected by seed of the file committed to by dataRoot,
// and each of them lies in the Merkle tree under dataRoot at its selected index."
//
// Public inputs (in this order):
//   dataRoot  Poseidon(treeRoot, sizeBytes): the deal's data root; it binds the file size, so the
//             chunk count that bounds every index cannot be chosen by the prover.
//   seed      keccak256(randomness, chain id, market, deal, replica, period, provider) mod r, computed
//             by the market with the caller of submitProof as the provider: binds the period's
//             randomness, the deal, the replica, the period and the provider's address, so a proof is
//             useless to anybody else or for another period. (The address used to be a third public
//             input; folding it into the seed saves the verifier a scalar multiplication, ~6.2k gas.)
//
// Index j is bits [j*INDEX_BITS, (j+1)*INDEX_BITS) of the seed, reduced modulo the chunk count. A chunk is its bytes packed into ELEMENTS field elements (31 bytes each, big-endian,
// zero-padded); its leaf is Poseidon over those elements, so the prover must hold the data itself,
// not only the tree.

include "../node_modules/circomlib/circuits/poseidon.circom";
include "../node_modules/circomlib/circuits/bitify.circom";
include "./generated/constants.circom";
include "./lib/merkle.circom";
include "./lib/challenge.circom";

function log2(x) {
    var n = 0;
    while ((1 << n) < x) { n++; }
    return n;
}

template ProofOfRandomAccess(challenges, depth, elements, indexBits, chunkSize) {
    signal input dataRoot;
    signal input seed;

    signal input treeRoot;
    signal input sizeBytes;
    signal input numChunks;
    signal input chunks[challenges][elements];
    signal input siblings[challenges][depth];

    // 1 <= numChunks <= 2^depth
    component chunkCountRange = Num2Bits(depth);
    chunkCountRange.in <== numChunks - 1;
    // numChunks == ceil(sizeBytes / chunkSize), so sizeBytes >= 1
    component paddingRange = Num2Bits(log2(chunkSize));
    paddingRange.in <== numChunks * chunkSize - sizeBytes;

    component rootHash = Poseidon(2);
    rootHash.inputs[0] <== treeRoot;
    rootHash.inputs[1] <== sizeBytes;
    rootHash.out === dataRoot;

    // Strict decomposition: the prover cannot pick the alias seed + r to move the indices.
    component challengeBits = Num2Bits_strict();
    challengeBits.in <== seed;

    component reduce[challenges];
    component leaves[challenges];
    component paths[challenges];
    for (var j = 0; j < challenges; j++) {
        var value = 0;
        for (var i = 0; i < indexBits; i++) {
            value += challengeBits.out[j * indexBits + i] * (1 << i);
        }
        reduce[j] = ReduceIndex(indexBits, depth);
        reduce[j].value <== value;
        reduce[j].n <== numChunks;

        leaves[j] = Poseidon(elements);
        leaves[j].inputs <== chunks[j];

        paths[j] = MerkleRootFromPath(depth);
        paths[j].leaf <== leaves[j].out;
        paths[j].indexBits <== reduce[j].indexBits;
        paths[j].siblings <== siblings[j];
        paths[j].root === treeRoot;
    }
}

component main {public [dataRoot, seed]} = ProofOfRandomAccess(
    STORAGE_CHALLENGES_PER_PROOF(),
    STORAGE_TREE_DEPTH(),
    STORAGE_ELEMENTS_PER_CHUNK(),
    STORAGE_CHALLENGE_INDEX_BITS(),
    STORAGE_CHUNK_SIZE()
);
