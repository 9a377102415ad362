/* ViT Notes: exercises answered on the page.

   An exercise whose checker ends in vit_notes.checking's check_count, check_prediction or
   check_choice gets an answer box on the site (book/_ext/vit_notes_site.py writes it). The
   box carries the checker's description, recorded by checking.page_spec from the same call
   the notebook makes, and this file checks a typed answer against it with the Python
   checker's messages, line for line. tests/browser/test_answers.py feeds both the same
   answers and compares the messages, so the two cannot drift apart unseen.

   Numbers are read as checking.as_number reads text: "58,605,568", "58.6M", "3.1e3", "5/2";
   whole numbers exactly (BigInt), however long. A prediction also reads a factor written
   with a times sign, "27×" or "27x", as the number before it (checking.check_prediction). */
(() => {
  "use strict";

  const SUFFIX = { k: 3, K: 3, M: 6, G: 9 }; // the power of ten each suffix stands for
  const DECIMAL = /^([+-]?)([0-9]*)\.?([0-9]*)(?:[eE]([+-]?[0-9]+))?$/;
  const WORD_SUFFIX = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?([A-Za-z]+)$/;
  const FLOAT = /^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)$/i;
  const NEAR = 0.1;
  const TIMES_SIGNS = ["x", "X", "×"]; // checking.TIMES_SIGNS: a prediction's factor may end in one
  const BIG = 10n ** 24n; // from here on a whole number is described by its digit count

  // A number is {int: BigInt} (exact) or {float: Number}, as Python's int and float.
  const isInt = (v) => typeof v.int === "bigint";
  const num = (v) => (isInt(v) ? Number(v.int) : v.float);
  const abs = (n) => (n < 0n ? -n : n);

  /** checking._decimal_digits: the decimal that m reads (a match of DECIMAL with a digit),
   *  times 10^power, exactly: its digits with no zero at either end, and the power of ten
   *  they are multiplied by. DECIMAL reads ASCII digits only. */
  function decimalDigits(m, power) {
    const digits = (m[2] + m[3]).replace(/^0+/, "");
    const stripped = digits.replace(/0+$/, "");
    return [stripped, Number(m[4] || 0) - m[3].length + power + digits.length - stripped.length];
  }

  /** checking._scaled: text (a decimal) times 10^power, exactly. */
  function scaled(text, power) {
    const m = text.match(DECIMAL);
    if (!m || !(m[2] || m[3])) return null;
    if ((m[4] || "").length > 6) return { float: Number(text) * 10 ** power };
    const [stripped, exp10] = decimalDigits(m, power);
    if (!stripped) return { int: 0n };
    if (exp10 >= 0 && stripped.length + exp10 <= 19) {
      const value = BigInt(m[1] + stripped) * 10n ** BigInt(exp10);
      return abs(value) < 2n ** 63n ? { int: value } : { float: Number(value) };
    }
    return { float: Number(`${m[1]}${stripped}e${exp10}`) };
  }

  /** checking._LONE_COMMA: a comma not followed by exactly three digits ("3,22"). */
  const LONE_COMMA = /,(?![0-9]{3}(?![0-9]))/;

  /** The zero of each script's decimal digits beyond ASCII, as Python's Unicode table has them
   *  (tests/test_robust_inputs.py checks the list against it): the zero's next nine code
   *  points are 1 to 9. */
  const DIGIT_ZEROS = [
    0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6,
    0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50,
    0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
    0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650,
    0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50,
    0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
  ];

  /** checking._plain_text's digits: another script's decimal digits as ASCII ones. */
  function asciiDigits(text) {
    return text.replace(/[^\x00-\x7f]/gu, (ch) => {
      const cp = ch.codePointAt(0);
      const zero = DIGIT_ZEROS.find((z) => cp >= z && cp < z + 10);
      return zero === undefined ? ch : String(cp - zero);
    });
  }

  /** checking._plain_text: typed text without the digit separators "_", "," and spaces, any
   *  script's digits read as ASCII ones; a comma is a separator only before exactly three
   *  digits. */
  function plainText(text) {
    const t = asciiDigits(text.trim()).replaceAll("_", "").replaceAll(" ", "");
    return LONE_COMMA.test(t) ? t : t.replaceAll(",", "");
  }

  /** checking.unknown_suffix: the letters after a number that no suffix matches. */
  function unknownSuffix(text) {
    const m = plainText(text).match(WORD_SUFFIX);
    return m && !Object.hasOwn(SUFFIX, m[1]) ? m[1] : null;
  }

  /** checking.format_note: why typed text is not read, where the slip is a known one. */
  function formatNote(text) {
    if (unknownSuffix(text)) return `the suffixes read are k, M and G, not '${unknownSuffix(text)}'`;
    if (LONE_COMMA.test(plainText(text))) {
      return "a comma only separates thousands, as in 3,136: write a decimal with a point";
    }
    return null;
  }

  function parseText(text) {
    let t = plainText(text).replaceAll("×", "*");
    const last = t.slice(-1);
    if (Object.hasOwn(SUFFIX, last) && t.slice(0, -1)) return scaled(t.slice(0, -1), SUFFIX[last]);
    if (/^[+-]?[0-9]+$/.test(t)) return { int: BigInt(t) };
    const frac = t.match(/^([+-]?[0-9]+)\/([0-9]+)$/);
    if (frac) {
      const den = BigInt(frac[2]);
      return den ? { float: Number(BigInt(frac[1])) / Number(den) } : null;
    }
    if (!FLOAT.test(t)) return null;
    if (/^[+-]?(?:inf|infinity|nan)$/i.test(t)) return { float: NaN };
    return { float: Number(t) };
  }

  /** checking.as_number for typed text. */
  function asNumber(text) {
    if (!text.trim()) return null;
    const v = parseText(text);
    if (v === null || isInt(v)) return v;
    if (!Number.isFinite(v.float)) return null;
    if (Number.isInteger(v.float) && Math.abs(v.float) < 2 ** 63) return { int: BigInt(v.float) };
    return v;
  }

  /* --- Python's formatting ---------------------------------------------------------- */
  function group(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  /** |x| exactly, as [N, k] with |x| = N / 10^k (every double is a finite decimal). */
  function exact(x) {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, Math.abs(x));
    const hi = view.getUint32(0), lo = view.getUint32(4);
    let e = (hi >>> 20) & 0x7ff;
    let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    if (e === 0) e = 1;
    else m |= 1n << 52n;
    const e2 = e - 1075; // |x| = m * 2^e2, and 2^-n = 5^n / 10^n
    return e2 >= 0 ? [m << BigInt(e2), 0] : [m * 5n ** BigInt(-e2), -e2];
  }

  /** N / 10^drop rounded half to even, as Python rounds a float's exact value. */
  function roundDrop(N, drop) {
    if (drop <= 0) return N * 10n ** BigInt(-drop);
    const unit = 10n ** BigInt(drop);
    const q = N / unit, r = N % unit;
    return 2n * r > unit || (2n * r === unit && q % 2n === 1n) ? q + 1n : q;
  }

  /** format(x, f".{f}f") */
  function formatF(x, f) {
    if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
    const [N, k] = exact(x);
    const digits = roundDrop(N, k - f).toString().padStart(f + 1, "0");
    const sign = x < 0 || Object.is(x, -0) ? "-" : "";
    return sign + (f ? `${digits.slice(0, -f)}.${digits.slice(-f)}` : digits);
  }

  /** format(x, f".{prec}g"), with "," grouping when asked. */
  function formatG(x, prec, grouping = false) {
    if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
    const sign = x < 0 || Object.is(x, -0) ? "-" : "";
    if (x === 0) return sign + "0";
    const p = Math.max(prec, 1);
    const [N, k] = exact(x);
    let exp = N.toString().length - 1 - k; // the first digit's power of ten
    let digits = roundDrop(N, k + exp - (p - 1)).toString();
    if (digits.length > p) {
      exp += 1; // 9.99... rounded up to 10.0...
      digits = digits.slice(0, p);
    }
    const strip = (s) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
    if (exp >= -4 && exp < p) {
      let whole, part;
      if (exp >= 0) {
        whole = digits.slice(0, exp + 1);
        part = digits.slice(exp + 1);
      } else {
        whole = "0";
        part = "0".repeat(-exp - 1) + digits;
      }
      const fixed = strip(part ? `${whole}.${part}` : whole);
      const [w, frac] = fixed.split(".");
      return sign + (grouping ? group(w) : w) + (frac ? "." + frac : "");
    }
    const mant = strip(digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits);
    return `${sign}${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }

  function percent(x) {
    return formatF(x * 100, 2) + "%";
  }

  function digitCount(n) {
    return abs(n).toString().length;
  }

  /** checking._number */
  function number(v) {
    if (isInt(v)) {
      if (abs(v.int) >= BIG) return `a ${digitCount(v.int)}-digit number`;
      return (v.int < 0n ? "-" : "") + group(abs(v.int).toString());
    }
    const text = formatG(v.float, 6, true);
    const x = v.float;
    const r = Math.round(x); // Python's round: a tie goes to the even neighbour
    const even = Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
    if (Number.isFinite(x) && !Number.isInteger(x) && Number(text.replaceAll(",", "")) === even) {
      // checking._number: 49.00000000001, not "49": a fraction must not print as a whole
      // number (Python's shortest repr, as JavaScript's, below 1e16 where such floats live)
      const [whole, part] = String(Math.abs(x)).split(".");
      return (x < 0 ? "-" : "") + group(whole) + (part === undefined ? "" : `.${part}`);
    }
    return text;
  }

  /** checking._typed_fraction: text of an exact decimal that is not whole ("49.00000000001",
   *  "58605.5680000000000001k"), read exactly, where a float would read a whole number. */
  function typedFraction(text) {
    if (typeof text !== "string") return false;
    let t = plainText(text);
    const last = t.slice(-1);
    const power = Object.hasOwn(SUFFIX, last) && t.slice(0, -1) ? SUFFIX[last] : 0;
    if (power) t = t.slice(0, -1);
    const m = t.match(DECIMAL);
    if (!m || !(m[2] || m[3]) || (m[4] || "").length > 6) return false;
    const [stripped, exp10] = decimalDigits(m, power);
    return stripped.length > 0 && exp10 < 0; // a digit after the point that is not a zero
  }

  /** Python's str.isprintable for one code point. */
  function printable(ch) {
    if (ch === " ") return true;
    return !/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u.test(ch);
  }

  /** repr(text), as Python writes it. */
  function repr(text) {
    const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
    let out = quote;
    for (const ch of text) {
      const code = ch.codePointAt(0);
      if (ch === quote || ch === "\\") out += "\\" + ch;
      else if (ch === "\t") out += "\\t";
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
      else if (code < 0x7f || printable(ch)) out += ch;
      else if (code < 0x100) out += "\\x" + code.toString(16).padStart(2, "0");
      else if (code < 0x10000) out += "\\u" + code.toString(16).padStart(4, "0");
      else out += "\\U" + code.toString(16).padStart(8, "0");
    }
    return out + quote;
  }

  /** checking.describe for typed text. */
  function describe(text, limit = 40) {
    const chars = Array.from(repr(text));
    return chars.length <= limit ? chars.join("") : chars.slice(0, limit - 3).join("") + "...";
  }

  /* --- checking's arithmetic -------------------------------------------------------- */
  function equal(a, b) {
    return isInt(a) && isInt(b) ? a.int === b.int : num(a) === num(b);
  }

  function minus(a, b) {
    return isInt(a) && isInt(b) ? { int: a.int - b.int } : { float: num(a) - num(b) };
  }

  function absolute(v) {
    return isInt(v) ? { int: abs(v.int) } : { float: Math.abs(v.float) };
  }

  function ratio(a, b) {
    const x = num(a), y = num(b);
    if (y === 0) return x ? Infinity : 1.0;
    return x / y;
  }

  function relError(value, right) {
    if (num(right) === 0) return equal(value, right) ? 0.0 : Infinity;
    return num(absolute(minus(value, right))) / Math.abs(num(right));
  }

  /** checking.BANDS: the bands a wrong number's message may name. A message for a wrong
   * number never prints its ratio to the answer, its difference from it, or the size of a
   * left-out term (the rule at the top of vit_notes/checking.py). */
  const BANDS = [
    "within 1% of the answer",
    "within 10% of the answer",
    "more than 10% off but less than 2×",
    "2× to 10× off",
    "more than 10× off",
  ];

  /** checking._beyond: big > k * small (both at least 0), exactly for whole numbers. */
  function beyond(big, small, k) {
    if (isInt(big) && isInt(small)) return big.int > BigInt(k) * small.int;
    return ratio(big, small) > k;
  }

  /** checking.band: the side of a wrong value and its band. */
  function band(value, right) {
    const v = num(value), r = num(right);
    const side = v > r || (isInt(value) && isInt(right) && value.int > right.int) ? "too high" : "too low";
    if (v && r && v < 0 !== r < 0) return `${side}, and of the wrong sign`;
    const rel = relError(value, right);
    if (rel <= 0.01) return `${side}, ${BANDS[0]}`;
    if (rel <= NEAR) return `${side}, ${BANDS[1]}`;
    const [a, b] = [absolute(value), absolute(right)];
    const aBigger = isInt(a) && isInt(b) ? a.int > b.int : num(a) > num(b);
    const [big, small] = aBigger ? [a, b] : [b, a];
    if (beyond(big, small, 10)) return `${side}, ${BANDS[4]}`;
    const twice = isInt(big) && isInt(small) ? big.int === 2n * small.int : num(big) === 2 * num(small);
    if (beyond(big, small, 2) || twice) return `${side}, ${BANDS[3]}`;
    return `${side}, ${BANDS[2]}`;
  }

  /** checking.how_far: the reader's own value, its side and its band. */
  function howFar(value, right) {
    return `${number(value)} is ${band(value, right)}`;
  }

  /** checking.last_digit: the place value of the last digit of ``value`` as written. */
  function lastDigit(value) {
    if (isInt(value)) return 1.0;
    const [mantissa, exp] = String(value.float).toLowerCase().split("e");
    const frac = mantissa.includes(".") ? mantissa.split(".")[1].length : 0;
    return 10 ** (Number(exp || 0) - frac);
  }

  /** checking.within_digits: ``right`` rounded or cut off at ``value``'s last digit. */
  function withinDigits(value, right) {
    const v = num(value), r = num(right);
    const unit = lastDigit(value) * (1 - 1e-9);
    const cut = Math.abs(v) <= Math.abs(r) && Math.abs(r) - Math.abs(v) < unit;
    return Math.abs(v - r) <= unit / 2 || (cut && v * r >= 0);
  }

  /** The significant figures (2 to 7) to which ``value`` is ``right`` rounded, or null. */
  function rounded(value, right) {
    for (let d = 2; d < 8; d++) {
      if (Number(formatG(num(right), d)) === num(value)) return d;
    }
    return null;
  }

  /** checking.round_to_step: ``right`` (a BigInt) to the nearest multiple of ``step``. */
  const roundToStep = (right, step) => ((right + step / 2n) / step) * step;

  /** checking.step_roundings: ``right`` rounded to ``step`` and to each finer step a tenth as
   * large, down to 1, while the step stays whole. */
  function stepRoundings(right, step) {
    const out = [];
    for (let s = step; s >= 1n; s /= 10n) {
      out.push(roundToStep(right, s));
      if (s % 10n !== 0n) break;
    }
    return out;
  }

  function nearMiss(value, right, unit, near = NEAR, step = 0n) {
    if (equal(value, right) || !(relError(value, right) <= near)) return null;
    let text = `close: ${howFar(value, right)}`;
    const exactly = step ? `give it exactly, or rounded to the nearest ${number({ int: step })} or finer` : "";
    const digits = rounded(value, right);
    if (digits !== null) {
      text += `; it is the answer rounded to ${digits} significant figures: `;
      text += exactly || "give it exactly";
    } else if (!Number.isInteger(num(value))) {
      text += `; a count of ${unit} is a whole number`;
    } else if (exactly) {
      text += `; ${exactly}`;
    }
    return text;
  }

  function missingTerms(value, total, terms) {
    const missing = total - value;
    const single = terms.filter(([, t]) => t === missing).map(([name]) => name);
    const n = (i) => number({ int: i });
    const pairs = [];
    for (let i = 0; i < terms.length; i++) {
      for (let j = i + 1; j < terms.length; j++) {
        if (terms[i][1] + terms[j][1] === missing) pairs.push(`${terms[i][0]} and ${terms[j][0]}`);
      }
    }
    if (single.length === 1 && !pairs.length) return `${n(value)} leaves out ${single[0]}`;
    if (single.length && !pairs.length) {
      return (
        `${n(value)} leaves out one term, and ${single.length} terms have the size it ` +
        `lacks: ${single.join("; ")}. The count alone cannot tell which one you left out: ` +
        "check each"
      );
    }
    if (single.length) {
      return (
        `${n(value)} leaves out one term or two together, and several choices have ` +
        `the size it lacks: either ${single.concat(pairs).join(", or ")}. The count alone cannot ` +
        "tell which you left out: check each"
      );
    }
    if (pairs.length) {
      const which = pairs.length === 1 ? pairs[0] : "either " + pairs.join(", or ");
      return `${n(value)} leaves out two terms: ${which}`;
    }
    return null;
  }

  /* --- the three kinds of checker ---------------------------------------------------- */
  const say = (ok, message) => ({ ok, message });

  /** checking._whole_parts: k where value is k of the n equal parts of right (2 <= k <= 4n,
   * k != n), else null. */
  function wholeParts(value, right, n) {
    if (n < 1n || right % n !== 0n) return null;
    const part = right / n;
    if (part <= 0n || value % part !== 0n) return null;
    const k = value / part;
    return k >= 2n && k <= 4n * n && k !== n ? k : null;
  }

  /** checking._UNIT_WORDS and checking._unit_slip: "millions" where value is right in
   *  millions to within 0.5%, and so for thousands and billions, where the answer is at
   *  least a tenth of the unit. */
  const UNIT_WORDS = [[3, "thousands"], [6, "millions"], [9, "billions"]];
  function unitSlip(value, right) {
    const v = num(value);
    const r = num(right);
    if (!(0 < v && v < r)) return null;
    for (const [k, name] of UNIT_WORDS) {
      if (r >= 10 ** (k - 1) && Math.abs(v * 10 ** k - r) / Math.abs(r) <= 0.005) return name;
    }
    return null;
  }

  function checkCount(spec, text) {
    const value = asNumber(text);
    const right = { int: BigInt(spec.right) };
    if (value === null && formatNote(text)) {
      return say(false, `give a whole number of ${spec.unit}: ${formatNote(text)}`);
    }
    if (value === null) return say(false, `give a whole number of ${spec.unit}, got ${describe(text)}`);
    const notWhole = `a number of ${spec.unit} is whole, got `;
    if (typedFraction(text) && !(!isInt(value) && !Number.isInteger(value.float))) {
      // a fraction too fine for a float, which reads it as a whole number
      return say(false, notWhole + describe(text));
    }
    if (equal(value, right)) return say(true, spec.correct);
    const step = BigInt(spec.step || 0);
    if (step && stepRoundings(right.int, step).some((r) => equal(value, { int: r }))) {
      return say(true, spec.correct);
    }
    if (isInt(value)) {
      for (const [wrong, why] of spec.mistakes) if (value.int === BigInt(wrong)) return say(false, why);
      const k = spec.parts ? wholeParts(value.int, right.int, BigInt(spec.parts[0])) : null;
      if (k !== null) return say(false, spec.parts[1].replaceAll("{k}", k.toString()));
      const terms = spec.terms.map(([name, t]) => [name, BigInt(t)]);
      const missing = terms.length ? missingTerms(value.int, right.int, terms) : null;
      if (missing) return say(false, missing);
    }
    const slip = unitSlip(value, right);
    if (slip) {
      return say(false, `${number(value)} looks like the count in ${slip}: give the number of ${spec.unit} itself`);
    }
    const close = nearMiss(value, right, spec.unit, NEAR, step);
    if (close) return say(false, close);
    if (num(value) <= 0) return say(false, `a number of ${spec.unit} is positive, got ${number(value)}`);
    if (!isInt(value) && !Number.isInteger(value.float)) {
      return say(false, notWhole + number(value));
    }
    const out = howFar(value, right);
    return say(false, spec.hint ? `${out}; ${spec.hint}` : out);
  }

  /** checking.factor_text: the text before a trailing times sign ("27×", " 27 x "), or null. */
  function factorText(text) {
    const t = text.trim();
    return TIMES_SIGNS.includes(t.slice(-1)) ? t.slice(0, -1).trim() : null;
  }

  function checkPrediction(spec, text) {
    let value = asNumber(text);
    if (value === null && factorText(text) !== null) value = asNumber(factorText(text));
    const hide = spec.then_wrong != null;
    const then = hide ? spec.then_wrong : spec.then;
    if (value === null && formatNote(text)) {
      return say(false, `write your prediction of ${spec.what} as a number: ${formatNote(text)}`);
    }
    if (value === null) {
      return say(false, `write your prediction of ${spec.what} as a number, got ${describe(text)}`);
    }
    const right = { float: spec.right };
    const close = (a, b) => relError(a, b) <= spec.rel_tol;
    if (close(value, right)) {
      const exact = relError(value, right) <= 1e-6 || rounded(value, right) !== null;
      if (spec.inexact && !(exact || withinDigits(value, right))) {
        return say(false, `close: ${howFar(value, right)}; ${spec.inexact}. ${then}`);
      }
      return say(true, `${spec.correct || spec.right_g}. ${spec.then}`);
    }
    for (const [wrong, why] of spec.mistakes) {
      if (close(value, { float: wrong })) return say(false, `${why}. ${then}`);
    }
    if (hide) {
      return say(false, `${number(value)} is too ${num(value) > spec.right ? "large" : "small"}. ${then}`);
    }
    const closeTo = relError(value, right) <= NEAR ? "close: " : "";
    return say(false, `${closeTo}${howFar(value, right)}. ${then}`);
  }

  function optionNamed(text, names) {
    const key = (s) => s.toLowerCase().replace(/[\s_-]/g, "");
    const exact = names.filter((n) => key(n) === key(text));
    if (exact.length) return exact[0];
    const partial = names.filter((n) => key(text) && key(n).includes(key(text)));
    return partial.length === 1 ? partial[0] : null;
  }

  function checkChoice(spec, text) {
    let choice = null;
    if (spec.parse.kind === "int") {
      const v = asNumber(text);
      choice = v && isInt(v) ? v.int : null;
    } else {
      choice = optionNamed(text, spec.parse.names);
    }
    const same = (a, b) => (typeof a === "bigint" ? a === BigInt(b) : a === b);
    const option = choice === null ? null : spec.options.find(([o]) => same(choice, o));
    if (!option) return say(false, `${spec.question}: choose one of ${spec.allowed}; got ${describe(text)}`);
    return say(spec.right !== null && same(choice, spec.right), option[1]);
  }

  const CHECKERS = { count: checkCount, prediction: checkPrediction, choice: checkChoice };

  /** The verdict on ``text`` as the Python checker prints it, unwrapped. */
  function check(spec, text) {
    const { ok, message } = CHECKERS[spec.kind](spec, String(text));
    return { ok, text: (ok ? "✅ correct: " : "❌ not yet: ") + message };
  }
  check.formatG = formatG; // Python's number formats, for tests/browser
  check.percent = percent;
  window.vnCheckAnswer = check; // for tests/browser

  /* --- the answer boxes -------------------------------------------------------------- */
  function show(form, spec, value) {
    const out = form.querySelector(".vn-answer-verdict");
    const { ok, text } = check(spec, value);
    out.textContent = text;
    out.classList.toggle("vn-right", ok);
  }

  function boxes() {
    document.querySelectorAll("form.vn-answer[data-spec]").forEach((form) => {
      const spec = JSON.parse(form.dataset.spec);
      form.hidden = false;
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        show(form, spec, form.querySelector("input").value);
      });
    });
    // A prediction is checked once it is committed (vit_notes.js opens the solution).
    document.querySelectorAll("form.vn-commit[data-spec]").forEach((form) => {
      const spec = JSON.parse(form.dataset.spec);
      form.addEventListener("submit", () => {
        const value = form.querySelector("input").value;
        if (value.trim()) show(form, spec, value);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boxes);
  else boxes();
})();
