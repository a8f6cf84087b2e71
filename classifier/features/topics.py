"""Topic features of a story: hashed words, word pairs, headline words, who-does-what sequences, lead n-grams.

The "who does what to whom" features are the order in which kinds of
actors and actions appear within a sentence (state forces, armed groups,
force actions, attacks, politics ...). "Troops raided a rebel camp" and
"rebels attacked troops" share most of their words; their sequences of
kinds (forces → force action → armed group, armed group → attack → forces)
differ.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .roles import ACTS, role_rows
from .tokens import ALNUM, SENTENCE_END, HashSet, LineBatch, hash_words, is_member, mix

# Kinds of words whose order within a sentence says who does what to whom.
# Lower-case word forms; a word belongs to one kind.
KINDS: dict[str, str] = {
    "FORCES": """troops troop soldiers soldier army armies military police policemen policeman
        gendarmes gendarmerie forces marines marine paratroopers commandos navy naval warplanes
        warplane jets helicopters helicopter gunships gunship tanks tank peacekeepers peacekeeping
        guardsmen guards battalion brigade brigades artillery infantry rangers personnel trooper
        troopers paramilitary paramilitaries constable constables commando policewoman cops
        securitymen jawans sfs intelligence fbi cia spy spies coalition nato""",
    "ARMED_GROUP": """rebels rebel militants militant insurgents insurgent guerrillas guerrilla
        guerilla guerillas militia militias militiamen militiaman fighters gunmen gunman separatists
        separatist extremists extremist terrorists terrorist bombers bomber jihadists jihadist
        mujahideen taliban hamas hezbollah hizbollah qaeda farc eln tigers ltte maoists maoist
        janjaweed eta ira kidnappers kidnapper captors warlord warlords tribesmen insurgency
        assailants assailant attackers attacker cadres cadre ultras outfit outfits naxalites
        naxalite naxals jihadi""",
    "FORCE_ACTION": """raid raided raids raiding storm stormed storming offensive assault assaults
        operation operations crackdown sweep sweeps patrol patrols patrolling checkpoint
        checkpoints curfew siege besieged besieging arrest arrested arrests arresting detained
        detain detaining detention captured capture rescue rescued airstrike airstrikes strikes
        bombarded shelled shelling pounded deployed deploy deployment deploying seized custody
        detainees prisoners interrogation manhunt cordon retake retook recaptured encounter
        encounters combing cordoned nabbed apprehended neutralised neutralized gunfight defused
        search invasion invaded invade occupation occupying torture interrogated surveillance""",
    "COMBAT": """clash clashes clashed fighting fought battle battles battled gunbattle gunbattles
        firefight skirmish skirmishes""",
    "ATTACK": """attack attacked attacks attacking ambush ambushed ambushes bomb bombs bombing
        bombings blast blasts explosion explosions exploded suicide roadside kidnapped kidnapping
        kidnappings abducted abduction hostage hostages beheaded beheading executed mortar mortars
        rocket rockets grenade grenades uprising massacre explosive explosives ied ieds landmine
        landmines torched ablaze arson abduct kidnap shootout gunfire firing fired bombed""",
    "HARM": """killed kill killing killings dead died wounded injured casualties shot wounding
        injuring slain hurt""",
    "CIVILIANS": """civilians civilian villagers villager residents people persons students
        student children women worshippers pilgrims passengers workers traders teachers
        journalists farmers tourists""",
    "POLITICS": """president presidential prime minister ministers ministry government governments
        parliament parliamentary election elections electoral vote voted voting voters ballot
        campaign campaigning candidate candidates party parties opposition cabinet senate senator
        congress congressional lawmakers legislation referendum summit talks negotiations
        negotiators diplomats diplomatic diplomacy ambassador sanctions treaty accord ceasefire
        truce peace resign resigned regime coup constitution polls chancellor premier""",
    "CONTEST": """match game games season coach league cup goal goals team teams players player
        tournament championship olympic olympics medal scored striker quarterback""",
    "BUSINESS": """shares profit profits company companies market markets stocks deal takeover
        ceo quarter revenue revenues investors sales earnings firm""",
    "CRIME": """burglary robbery robbers theft fraud murder murdered murderer drugs trafficking
        smuggling gang gangs""",
    "JUSTICE": """court trial tried sentenced convicted jailed prison charged charges verdict
        judge prosecutors acquitted""",
}
# Sentences: how far a kind sequence may run.
_BREAKS = SENTENCE_END + "\n"
# What is not part of a word, for the character n-grams.
_NON_WORD = re.compile(r"[\W_]+")
# Salts that set each family of hashed features apart.
_SALTS = {
    name: np.uint64(value)
    for name, value in (
        ("title", 0x243F6A8885A308D3),
        ("bigram", 0x13198A2E03707344),
        ("kind", 0xA4093822299F31D0),
        ("kind_title", 0x082EFA98EC4E6C89),
        ("kind2", 0x452821E638D01377),
        ("kind3", 0xBE5466CF34E90C6C),
        ("role", 0x3F84D5B5B5470917),
    )
}


@lru_cache(maxsize=1)
def _kind_of() -> dict[str, str]:
    """Each listed word's kind."""
    return {word: kind for kind, listed in KINDS.items() for word in listed.split()}


@lru_cache(maxsize=1)
def _kind_table() -> tuple[np.ndarray, np.ndarray]:
    """Sorted word hashes of the kinds' words, and each one's kind number (1-based)."""
    words, kinds = [], []
    for number, (_, listed) in enumerate(KINDS.items(), 1):
        for word in listed.split():
            words.append(word)
            kinds.append(number)
    hashes = hash_words(words)
    order = np.argsort(hashes)
    return hashes[order], np.asarray(kinds, dtype=np.int64)[order]


@lru_cache(maxsize=1)
def _act_hashes() -> HashSet:
    """The word hashes of the kinds' words that name an act (the words role features start from)."""
    return HashSet.of(hash_words([word for word, kind in _kind_of().items() if kind in ACTS]))


def _may_tell_acts(batch: LineBatch, docs: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Which texts of a batch may hold a word that names an act, from their words' hashes (``docs`` and
    ``hashes``: the batch's words): only those can have role features.

    The role features read a text's runs of ASCII letters and digits; in a text whose other characters
    are none of them letters or digits, those runs are its words here, so a text none of whose words
    is an act word holds none there either. A text with any other letter or digit (an accent, another
    script, a superscript) counts as one that may.
    """
    maybe = np.zeros(len(batch), dtype=bool)
    maybe[docs[is_member(hashes, _act_hashes())]] = True
    other = np.flatnonzero((batch.points > 127) & ((batch.flags & ALNUM) != 0))
    maybe[batch.line_of(other)] = True
    return maybe


def _count_matrix(rows: list[np.ndarray], keys: list[np.ndarray], n_rows: int, width: int) -> sparse.csr_matrix:
    """Counts of hashed keys per row, as a canonical CSR matrix (one sort, no duplicates).

    Each cell is a number (row times width plus column), in 32 bits when they hold it (as a labelling
    chunk's do): sorting those takes two thirds of the time 64-bit ones take, for the same matrix.
    """
    cell_type = np.int32 if n_rows * width <= np.iinfo(np.int32).max else np.int64
    columns = (np.concatenate(keys) % np.uint64(width)).astype(cell_type)
    cells = np.concatenate(rows).astype(cell_type) * cell_type(width) + columns
    cells, counts = np.unique(cells, return_counts=True)
    row, column = np.divmod(cells, width)
    indptr = np.searchsorted(row, np.arange(n_rows + 1))
    return sparse.csr_matrix((counts.astype(np.float64), column, indptr), shape=(n_rows, width))


class TopicFeatures(TransformerMixin, BaseEstimator):
    """Hashed words, word pairs, headline words, kind sequences and lead n-grams, tf-idf weighted.

    Two blocks, each scaled to unit length: the word block (words, word
    pairs, headline words, kind sequences) over the whole text, and a block
    of character n-grams within words over the lead (the first
    ``lead_chars`` characters: the headline and first sentences, where the
    main event is told). The n-grams catch what words split apart: name
    and word forms ("insurgen", "milit"), and inflections the kind lists miss.

    Parameters
    ----------
    n_features : int, default=2**18
        Width of the hashed word block.
    kinds : bool, default=True
        Whether to add the "who does what to whom" kind features.
    roles : bool, default=True
        Whether to add the agent and target of each act of force
        (:mod:`~classifier.features.roles`).
    lead_chars : int, default=400
        How much of the text the character n-grams read (0: none).
    char_features : int, default=2**17
        Width of the hashed character n-gram block.
    max_chars : int, default=2500
        How much of each text is read at all: a story's topic is told in
        its first paragraphs, and the cost then no longer grows with length.
    """

    def __init__(
        self,
        n_features: int = 2**18,
        kinds: bool = True,
        roles: bool = True,
        lead_chars: int = 400,
        char_features: int = 2**17,
        max_chars: int = 2500,
    ):
        self.n_features = n_features
        self.kinds = kinds
        self.roles = roles
        self.lead_chars = lead_chars
        self.char_features = char_features
        self.max_chars = max_chars

    def fit(self, X: Sequence[str], y=None) -> TopicFeatures:
        blocks = self._blocks(X)
        self.idf_ = [
            np.log((1.0 + len(X)) / (1.0 + np.bincount(block.indices, minlength=block.shape[1]))) + 1.0
            for block in blocks
        ]
        return self

    def transform(self, X: Sequence[str]) -> sparse.csr_matrix:
        """Each block's log counts times idf, scaled to unit length per row, the blocks side by side.

        Computed on the blocks' arrays and assembled as one CSR matrix: the
        same values, in the same order, as scaling each block by a diagonal
        matrix and stacking them (what this did first), without a dozen
        sparse-matrix constructions per call (their checks cost more than
        the arithmetic on a few pages).
        """
        check_is_fitted(self, "idf_")
        blocks = self._blocks(X)
        n_rows = blocks[0].shape[0]
        indptr = sum(block.indptr for block in blocks)
        data = np.empty(indptr[-1])
        indices = np.empty(indptr[-1], dtype=np.int64)
        before = indptr[:-1].copy()  # where each row's share of the next block goes
        offset = 0
        for counts, idf in zip(blocks, self.idf_):
            lengths = np.diff(counts.indptr)
            rows = np.repeat(np.arange(n_rows), lengths)
            values = np.log1p(counts.data) * idf[counts.indices]
            squares = np.zeros(n_rows)
            filled = np.flatnonzero(lengths)
            if len(filled):
                squares[filled] = np.add.reduceat(values * values, counts.indptr[filled])
            values = values * (1.0 / np.maximum(np.sqrt(squares), 1e-12))[rows]
            # Within a row, the columns in descending order, as the diagonal product left them.
            place = before[rows] + (counts.indptr[rows + 1] - 1 - np.arange(len(values)))
            data[place] = values
            indices[place] = counts.indices + offset
            before += lengths
            offset += counts.shape[1]
        return sparse.csr_matrix((data, indices, indptr), shape=(n_rows, offset))

    def _blocks(self, X: Sequence[str]) -> list[sparse.csr_matrix]:
        texts = [text[: self.max_chars] for text in X]
        blocks = [self._counts(texts)]
        if self.lead_chars:
            blocks.append(self._lead_ngrams(texts))
        return blocks

    def _lead_ngrams(self, texts: list[str]) -> sparse.csr_matrix:
        """Counts of character 2- to 5-grams within the lead's words (padded by a space each side)."""
        leads = [" " + _NON_WORD.sub(" ", text[: self.lead_chars].lower()).strip() + " " for text in texts]
        joined = "\0".join(leads)
        points = np.frombuffer(joined.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32).astype(np.uint64)
        doc = np.cumsum(points == 0)  # lead of each character (separators belong to the next)
        space = np.concatenate([[0], np.cumsum(points == 32)])
        rows, keys = [], []
        hashes = points.copy()
        with np.errstate(over="ignore"):
            for n in range(2, 6):
                hashes = hashes[:-1] * np.uint64(1_000_003) + points[n - 1 :]
                start = np.arange(len(hashes))
                # Inside one lead, with spaces only at the ends of the window.
                ok = (doc[start] == doc[start + n - 1]) & (space[start + n - 1] - space[start + 1] == 0)
                ok &= points[start] != 0
                rows.append(doc[start[ok]])
                keys.append(mix(hashes[ok] ^ np.uint64(n)))
        return _count_matrix(rows, keys, len(texts), self.char_features)

    def _counts(self, texts: list[str]) -> sparse.csr_matrix:
        """Counts of the word block's hashed features."""
        batch = LineBatch.from_texts(texts)
        docs, hashes, is_word = batch.tokens
        positions = batch.token_positions
        docs, hashes, positions = docs[is_word], hashes[is_word], positions[is_word]
        rows, keys = [docs], [hashes]
        # The headline (the first paragraph when there are more) is marked as such.
        title_end = batch.starts + np.array([t.find("\n\n") for t in texts], dtype=np.int64)
        in_title = positions < title_end[docs]
        rows.append(docs[in_title])
        keys.append(hashes[in_title] ^ _SALTS["title"])
        same_doc = docs[1:] == docs[:-1]
        with np.errstate(over="ignore"):
            rows.append(docs[1:][same_doc])
            keys.append(mix(hashes[:-1][same_doc] * np.uint64(31) + hashes[1:][same_doc]) ^ _SALTS["bigram"])
        if self.kinds and len(hashes):
            kind_rows, kind_keys = self._kind_features(batch, docs, hashes, positions, in_title)
            rows += kind_rows
            keys += kind_keys
        if getattr(self, "roles", False):  # models fitted before the role features read without them
            # Most stories tell no act of force: their sentences need not be read for roles.
            acting = np.flatnonzero(_may_tell_acts(batch, docs, hashes))
            role_rows_, role_keys = role_rows([texts[i] for i in acting], _kind_of())
            rows.append(acting[role_rows_])
            keys.append(role_keys ^ _SALTS["role"])
        return _count_matrix(rows, keys, len(texts), self.n_features)

    def _kind_features(self, batch, docs, hashes, positions, in_title):
        table, kinds = _kind_table()
        at = np.minimum(np.searchsorted(table, hashes), len(table) - 1)
        found = np.flatnonzero(table[at] == hashes)
        kind = kinds[at][found]
        docs, positions, in_title = docs[found], positions[found], in_title[found]
        # Sentence of each kind word: count the breaks before it.
        breaks = np.flatnonzero(np.isin(batch.points, [ord(c) for c in _BREAKS]))
        sentence = np.searchsorted(breaks, positions)
        rows = [docs, docs[in_title]]
        keys = [_SALTS["kind"] ^ kind.astype(np.uint64), _SALTS["kind_title"] ^ kind[in_title].astype(np.uint64)]
        if not len(kind):
            return rows, keys
        # Runs of one kind count once; then neighbours in order make pairs and triples.
        same = np.concatenate([[False], (docs[1:] == docs[:-1]) & (sentence[1:] == sentence[:-1])])
        keep = ~(same & np.concatenate([[False], kind[1:] == kind[:-1]]))
        docs, kind, sentence = docs[keep], kind[keep], sentence[keep]
        same = np.concatenate([[False], (docs[1:] == docs[:-1]) & (sentence[1:] == sentence[:-1])])
        pair = np.flatnonzero(same)
        rows.append(docs[pair])
        keys.append(mix((kind[pair - 1] * 64 + kind[pair]).astype(np.uint64)) ^ _SALTS["kind2"])
        triple = pair[same[pair - 1]] if len(pair) else pair
        rows.append(docs[triple])
        keys.append(
            mix((kind[triple - 2] * 4096 + kind[triple - 1] * 64 + kind[triple]).astype(np.uint64)) ^ _SALTS["kind3"]
        )
        return rows, keys
