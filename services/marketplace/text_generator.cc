#include "services/marketplace/text_generator.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace marketlens::marketplace {
namespace {

using Strings = std::vector<std::string>;

// How one reviewer writes.
struct Voice {
  bool lowercase = false;  // everything in lower case, "i" for "I"
  bool drop_apostrophes = false;
  bool drop_full_stops = false;
  bool exclaims = false;  // "!" instead of "." on upbeat sentences
  bool terse = false;     // one or two sentences
  double typo_rate = 0.004;
};

Voice PickVoice(Rng& rng) {
  Voice v;
  const double u = Uniform01(rng);
  if (u < 0.50) {  // careful
    v.typo_rate = Chance(rng, 0.5) ? 0.0 : 0.004;
    v.exclaims = Chance(rng, 0.2);
  } else if (u < 0.72) {  // casual
    v.typo_rate = 0.015;
    v.exclaims = Chance(rng, 0.5);
    v.drop_apostrophes = Chance(rng, 0.3);
  } else if (u < 0.87) {  // sloppy
    v.lowercase = true;
    v.drop_apostrophes = Chance(rng, 0.6);
    v.drop_full_stops = Chance(rng, 0.5);
    v.typo_rate = 0.035;
  } else {  // terse
    v.terse = true;
    v.typo_rate = 0.01;
  }
  return v;
}

std::string Capitalize(std::string s) {
  for (char& c : s) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      break;
    }
    if (c != ' ' && c != '"' && c != '(') break;
  }
  return s;
}

// A sentence from a clause: capitalised, with an ending.
std::string Sentence(const std::string& clause, char end = '.') {
  std::string s = Capitalize(clause);
  if (!s.empty() && s.back() != '.' && s.back() != '!' && s.back() != '?') s.push_back(end);
  return s;
}

const std::string& AspectNoun(const AspectSpec& a, Rng& rng) { return Pick(rng, a.nouns); }

std::string PositiveClause(const AspectSpec& a, const ProductKind& kind, Rng& rng) {
  if (!a.generic || a.good_adj.empty() || Chance(rng, 0.6)) {
    return FillPlaceholders(Pick(rng, a.good), kind, rng);
  }
  const std::string& n = AspectNoun(a, rng);
  const std::string& adj = Pick(rng, a.good_adj);
  switch (UniformInt(rng, 0, 8)) {
    case 0:
      return absl::StrCat("the ", n, " is ", adj);
    case 1:
      return absl::StrCat("the ", n, " is ", adj, ", no complaints there");
    case 2:
      return absl::StrCat("really impressed with the ", n);
    case 3:
      return absl::StrCat("no complaints about the ", n, " at all");
    case 4:
      return absl::StrCat("can't fault the ", n);
    case 5:
      return absl::StrCat("the ", n, " is not bad at all, actually");
    case 6:
      return absl::StrCat("I was worried about the ", n, " but it turned out ", adj);
    case 7:
      return absl::StrCat("never had a single problem with the ", n);
    default:
      return absl::StrCat(n, " is ", adj);
  }
}

std::string NegativeClause(const AspectSpec& a, const ProductKind& kind, Rng& rng) {
  if (!a.generic || a.bad_adj.empty() || Chance(rng, 0.6)) {
    return FillPlaceholders(Pick(rng, a.bad), kind, rng);
  }
  const std::string& n = AspectNoun(a, rng);
  const std::string& adj = Pick(rng, a.bad_adj);
  switch (UniformInt(rng, 0, 7)) {
    case 0:
      return absl::StrCat("the ", n, " is ", adj);
    case 1:
      return absl::StrCat("not a fan of the ", n);
    case 2:
      return absl::StrCat("the ", n, " is not great");
    case 3:
      return absl::StrCat("the ", n, " could be a lot better");
    case 4:
      return absl::StrCat("really disappointed with the ", n);
    case 5:
      if (!a.good_adj.empty()) {
        return absl::StrCat("I wouldn't call the ", n, " ", Pick(rng, a.good_adj), ", more like ", adj);
      }
      return absl::StrCat("the ", n, " is ", adj);
    case 6:
      return absl::StrCat("the ", n, " is ", adj, ", sadly");
    default:
      return absl::StrCat("the ", n, " isn't anything to write home about");
  }
}

std::string NeutralClause(const AspectSpec& a, const ProductKind& kind, Rng& rng) {
  if (!a.generic) return FillPlaceholders("not sure yet what to make of {obj}", kind, rng);
  const std::string& n = AspectNoun(a, rng);
  switch (UniformInt(rng, 0, 4)) {
    case 0:
      return absl::StrCat("the ", n, " is ok, nothing special");
    case 1:
      return absl::StrCat("the ", n, " is about what you'd expect for the price");
    case 2:
      return absl::StrCat("the ", n, " is fine I guess");
    case 3:
      return absl::StrCat("the ", n, " is neither great nor terrible");
    default:
      return absl::StrCat("the ", n, " is average");
  }
}

std::string Opener(int rating, const ProductKind& kind, Rng& rng) {
  static const auto* openers = new std::vector<Strings>{
      {},
      {"save your money", "total waste of money", "very disappointed", "do not buy",
       "worst {noun} I have ever bought", "I really regret this purchase", "one star is generous"},
      {"not impressed", "expected more for the money", "pretty disappointing", "meh", "wanted to like {obj}",
       "not what I hoped for"},
      {"it's ok", "mixed feelings about this one", "does the job, barely", "not bad, not great",
       "average {noun}", "it's fine for what it is"},
      {"pretty happy with {obj} overall", "good {noun}, a few small gripes", "solid {noun}",
       "really nice {noun} for the price", "almost perfect", "does what I needed"},
      {"absolutely love {obj}", "exactly what I needed", "best {noun} I've owned so far",
       "five stars, no question", "wow", "so glad I bought {obj}", "{this} {noun} exceeded my expectations",
       "couldn't be happier"},
  };
  return FillPlaceholders(Pick(rng, (*openers)[rating]), kind, rng);
}

std::string Closer(int rating, bool has_issue, const ProductKind& kind, Rng& rng) {
  static const auto* closers = new std::vector<Strings>{
      {},
      {"returning {obj}", "would not recommend", "sent {obj} back for a refund", "save your money", "avoid",
       "never again"},
      {"probably returning {obj}", "would not buy again", "can't recommend {obj}", "look elsewhere"},
      {"might keep {obj}, might not", "fine for the price, I guess", "three stars because {it} {does} work",
       "not sure I'd buy again", "it's ok"},
      {"would buy again", "recommend {obj}", "happy with the purchase", "four stars from me", "no regrets"},
      {"would buy again", "highly recommend", "already ordered a second one for {relative}",
       "five stars from me", "no regrets at all", "you won't be disappointed"},
  };
  if (has_issue && Chance(rng, 0.35)) {
    static const auto* issue_closers =
        new Strings{"contacted the seller, still waiting to hear back", "requested a replacement, we'll see",
                    "the seller offered a refund at least", "reported it to customer service"};
    return Pick(rng, *issue_closers);
  }
  return FillPlaceholders(Pick(rng, (*closers)[rating]), kind, rng);
}

std::string Context(const ProductKind& kind, Rng& rng) {
  static const auto* contexts = new Strings{"bought {obj} {use}",
                                            "got this for {relative}",
                                            "I've been using {obj} daily for {period} now",
                                            "this replaced my old one that lasted years",
                                            "ordered {obj} after reading a lot of reviews",
                                            "picked {obj} up on sale",
                                            "bought {obj} as a gift for {relative}",
                                            "second one I've bought",
                                            "I use {obj} {use}"};
  return FillPlaceholders(Pick(rng, *contexts), kind, rng);
}

// Joins a positive and a negative clause into one mixed sentence.
std::string MixedSentence(const std::string& pos, const std::string& neg, Rng& rng) {
  switch (UniformInt(rng, 0, 5)) {
    case 0:
      return Sentence(absl::StrCat(pos, ", but ", neg));
    case 1:
      return Sentence(absl::StrCat(neg, ", although ", pos));
    case 2:
      return Sentence(absl::StrCat("I love that ", pos, ", but ", neg));
    case 3:
      return absl::StrCat(Sentence(pos), " On the other hand, ", neg, ".");
    case 4:
      return absl::StrCat(Sentence(pos), " That said, ", neg, ".");
    default:
      return Sentence(absl::StrCat("shame that ", neg, ", because ", pos));
  }
}

std::string Hedge(const std::string& sentence, const Voice& voice, Rng& rng) {
  if (!Chance(rng, 0.18)) return sentence;
  static const auto* hedges =
      new Strings{"Honestly, ", "To be fair, ", "Overall ", "I have to say ", "Really, "};
  std::string s = sentence;
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  if (s.rfind("I ", 0) == 0 || s.rfind("i ", 0) == 0) s[0] = 'I';
  if (voice.lowercase || voice.terse) return s.empty() ? s : Capitalize(s);
  return absl::StrCat(voice.drop_apostrophes ? "Honestly " : Pick(rng, *hedges), s);
}

std::string ApplyVoice(std::string text, const Voice& voice, int rating, Rng& rng) {
  if (voice.exclaims && rating >= 4) {
    // Upbeat reviewers end a few sentences with "!" (or "!!").
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '.' && (i + 1 == text.size() || text[i + 1] == ' ') && Chance(rng, 0.4)) {
        text[i] = '!';
        if (Chance(rng, 0.3)) text.insert(i + 1, "!");
      }
    }
  }
  if (voice.drop_apostrophes) {
    text = absl::StrReplaceAll(text, {{"n't", "nt"},
                                      {"I'm", "Im"},
                                      {"it's", "its"},
                                      {"It's", "Its"},
                                      {"I've", "Ive"},
                                      {"you'd", "youd"},
                                      {"I'd", "Id"}});
  }
  if (voice.drop_full_stops) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '.' && i + 1 < text.size() && text[i + 1] == ' ' && Chance(rng, 0.6)) {
        if (Chance(rng, 0.5)) out.push_back(',');
        continue;
      }
      out.push_back(text[i]);
    }
    text = std::move(out);
  }
  if (voice.lowercase) {
    text = absl::AsciiStrToLower(text);
  }
  return AddTypos(text, voice.typo_rate, rng);
}

}  // namespace

std::string FillPlaceholders(absl::string_view tmpl, const ProductKind& kind, Rng& rng) {
  if (tmpl.find('{') == absl::string_view::npos) return std::string(tmpl);
  const bool p = kind.plural;
  std::string out;
  out.reserve(tmpl.size() + 16);
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] != '{') {
      out.push_back(tmpl[i++]);
      continue;
    }
    const size_t close = tmpl.find('}', i);
    if (close == absl::string_view::npos) {
      absl::StrAppend(&out, tmpl.substr(i));
      break;
    }
    const absl::string_view name = tmpl.substr(i + 1, close - i - 1);
    if (name == "it") {
      out += p ? "they" : "it";
    } else if (name == "obj") {
      out += p ? "them" : "it";
    } else if (name == "is") {
      out += p ? "are" : "is";
    } else if (name == "was") {
      out += p ? "were" : "was";
    } else if (name == "has") {
      out += p ? "have" : "has";
    } else if (name == "does") {
      out += p ? "do" : "does";
    } else if (name == "this") {
      out += p ? "these" : "this";
    } else if (name == "noun") {
      out += kind.noun;
    } else if (name == "part") {
      out += kind.parts.empty() ? "part" : Pick(rng, kind.parts);
    } else if (name == "period") {
      out += Pick(rng, Periods());
    } else if (name == "relative") {
      out += Pick(rng, Relatives());
    } else if (name == "use") {
      out += kind.uses.empty() ? "at home" : Pick(rng, kind.uses);
    } else {
      absl::StrAppend(&out, tmpl.substr(i, close - i + 1));
    }
    i = close + 1;
  }
  // "it's" style contractions the templates spell out: "{does}n't" -> "doesn't" / "don't" works as is.
  return out;
}

std::string AddTypos(absl::string_view text, double rate, Rng& rng) {
  if (rate <= 0) return std::string(text);
  static const auto* misspellings =
      new absl::flat_hash_map<std::string, std::string>{{"definitely", "definately"},
                                                        {"received", "recieved"},
                                                        {"quality", "qualtiy"},
                                                        {"their", "there"},
                                                        {"really", "realy"},
                                                        {"because", "becuase"},
                                                        {"separate", "seperate"},
                                                        {"recommend", "reccomend"},
                                                        {"disappointed", "dissapointed"},
                                                        {"comfortable", "comfortabel"},
                                                        {"until", "untill"},
                                                        {"expected", "expcted"},
                                                        {"which", "wich"},
                                                        {"arrived", "arived"},
                                                        {"battery", "batery"},
                                                        {"something", "somthing"},
                                                        {"honestly", "honestley"},
                                                        {"though", "tho"},
                                                        {"you", "u"}};
  std::string out;
  out.reserve(text.size() + 8);
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isalpha(static_cast<unsigned char>(text[i]))) {
      out.push_back(text[i++]);
      continue;
    }
    size_t j = i;
    while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
    std::string word(text.substr(i, j - i));
    i = j;
    if (word.size() >= 3 && Chance(rng, rate)) {
      auto it = misspellings->find(absl::AsciiStrToLower(word));
      if (it != misspellings->end() && std::islower(static_cast<unsigned char>(word[0]))) {
        word = it->second;
      } else if (word.size() >= 4) {
        const int pos = UniformInt(rng, 1, static_cast<int>(word.size()) - 2);
        switch (UniformInt(rng, 0, 2)) {
          case 0:
            std::swap(word[pos], word[pos + 1]);
            break;  // swapped letters
          case 1:
            word.erase(pos, 1);
            break;  // dropped letter
          default:
            word.insert(pos, 1, word[pos]);
            break;  // doubled letter
        }
      }
    }
    out += word;
  }
  return out;
}

ReviewText WriteReview(const ReviewPlan& plan, Rng& rng) {
  const ProductKind& kind = *plan.kind;
  const int rating = plan.rating < 1 ? 1 : (plan.rating > 5 ? 5 : plan.rating);
  const Voice voice = PickVoice(rng);
  ReviewText out;
  // Terse writers mention one thing: the first issue, else the first aspect.
  size_t aspect_count = plan.aspects.size();
  size_t issue_count = plan.issues.size();
  if (voice.terse) {
    issue_count = std::min<size_t>(issue_count, 1);
    aspect_count = issue_count > 0 ? 0 : std::min<size_t>(aspect_count, 1);
  }
  for (size_t i = 0; i < aspect_count; ++i) out.mentioned_aspects.push_back(i);
  for (size_t i = 0; i < issue_count; ++i) out.mentioned_issues.push_back(i);

  std::vector<std::string> positives, negatives, neutrals;
  std::vector<std::string> positive_nouns, negative_nouns;
  for (size_t ai = 0; ai < aspect_count; ++ai) {
    const auto& [aspect, polarity] = plan.aspects[ai];
    if (polarity > 0) {
      positives.push_back(PositiveClause(*aspect, kind, rng));
      positive_nouns.push_back(aspect->nouns.front());
    } else if (polarity < 0) {
      negatives.push_back(NegativeClause(*aspect, kind, rng));
      negative_nouns.push_back(aspect->nouns.front());
    } else {
      neutrals.push_back(NeutralClause(*aspect, kind, rng));
    }
  }
  std::vector<std::string> issue_sentences;
  for (size_t ii = 0; ii < issue_count; ++ii) {
    const IssueSpec* issue = plan.issues[ii];
    std::string clause = FillPlaceholders(Pick(rng, issue->phrases), kind, rng);
    switch (UniformInt(rng, 0, 5)) {
      case 0:
        clause = absl::StrCat("unfortunately ", clause);
        break;
      case 1:
        clause = absl::StrCat("update after ", Pick(rng, Periods()), ": ", clause);
        break;
      case 2:
        clause = absl::StrCat("sadly ", clause);
        break;
      default:
        break;
    }
    issue_sentences.push_back(Sentence(clause));
  }

  // Aspect sentences: mixed opinions are often one sentence.
  std::vector<std::string> body;
  size_t pi = 0, ni = 0;
  while (pi < positives.size() && ni < negatives.size() && Chance(rng, 0.6)) {
    body.push_back(MixedSentence(positives[pi++], negatives[ni++], rng));
  }
  for (; pi < positives.size(); ++pi) body.push_back(Hedge(Sentence(positives[pi]), voice, rng));
  for (; ni < negatives.size(); ++ni) body.push_back(Hedge(Sentence(negatives[ni]), voice, rng));
  for (const std::string& n : neutrals) body.push_back(Sentence(n));
  // Shuffle the aspect sentences a little (reviewers don't follow an order).
  if (body.size() > 1 && Chance(rng, 0.5)) std::swap(body[0], body[body.size() - 1]);

  std::vector<std::string> sentences;
  if (voice.terse) {
    if (!issue_sentences.empty()) {
      sentences.push_back(issue_sentences.front());
      if (Chance(rng, 0.5)) sentences.push_back(Sentence(Opener(rating, kind, rng)));
    } else {
      sentences.push_back(Sentence(Opener(rating, kind, rng)));
      if (!body.empty()) sentences.push_back(body.front());
    }
  } else {
    const bool issue_first = !issue_sentences.empty() && rating <= 2 && Chance(rng, 0.4);
    if (issue_first) sentences.insert(sentences.end(), issue_sentences.begin(), issue_sentences.end());
    if (Chance(rng, 0.7)) sentences.push_back(Sentence(Opener(rating, kind, rng), rating >= 5 ? '!' : '.'));
    if (Chance(rng, 0.35)) sentences.push_back(Sentence(Context(kind, rng)));
    sentences.insert(sentences.end(), body.begin(), body.end());
    if (!issue_first) sentences.insert(sentences.end(), issue_sentences.begin(), issue_sentences.end());
    if (Chance(rng, 0.5)) sentences.push_back(Sentence(Closer(rating, !plan.issues.empty(), kind, rng)));
    if (sentences.empty()) sentences.push_back(Sentence(Opener(rating, kind, rng)));
  }

  out.text = ApplyVoice(absl::StrJoin(sentences, " "), voice, rating, rng);

  // Title.
  std::string title;
  if (issue_count > 0 && Chance(rng, 0.75)) {
    title = FillPlaceholders(Pick(rng, plan.issues.front()->titles), kind, rng);
    title = Capitalize(title);
  } else if (!positive_nouns.empty() && !negative_nouns.empty() && Chance(rng, 0.6)) {
    title = absl::StrCat("Great ", positive_nouns.front(), ", ", negative_nouns.front(), " not so much");
  } else if (rating >= 4 && !positive_nouns.empty() && Chance(rng, 0.4)) {
    title = absl::StrCat(Pick(rng, Strings{"Great ", "Love the ", "Excellent "}), positive_nouns.front());
  } else if (rating <= 2 && !negative_nouns.empty() && Chance(rng, 0.4)) {
    title = absl::StrCat(Pick(rng, Strings{"Poor ", "Awful ", "Disappointing "}), negative_nouns.front());
  } else {
    static const auto* titles = new std::vector<Strings>{
        {},
        {"Terrible", "Waste of money", "Do not buy", "Junk", "Very disappointed", "Avoid"},
        {"Disappointed", "Not great", "Expected better", "Meh", "Not worth it"},
        {"OK", "Meh", "Average", "It's fine", "Decent but not great", "Does the job"},
        {"Very good", "Solid choice", "Good value", "Happy overall", "Pretty good", "Nice {noun}"},
        {"Love it", "Five stars", "Perfect", "Exactly as described", "Great {noun}", "Worth it", "Amazing"},
    };
    title = Capitalize(FillPlaceholders(Pick(rng, (*titles)[rating]), kind, rng));
  }
  if (voice.lowercase) title = absl::AsciiStrToLower(title);
  out.title = title;
  return out;
}

std::string WriteContactNotes(const ContactPlan& plan, Rng& rng) {
  const bool shorthand = Chance(rng, 0.4);
  const std::string& name = plan.customer_first_name;
  const std::string product = plan.product_name.empty() ? std::string("their order") : plan.product_name;
  std::string opening;
  if (plan.channel == "call") {
    opening = shorthand
                  ? absl::StrCat("Cust called re: ", product)
                  : Pick(rng, Strings{absl::StrCat(name, " called about the ", product),
                                      absl::StrCat("Inbound call from ", name, " regarding the ", product)});
  } else if (plan.channel == "chat") {
    opening = shorthand ? absl::StrCat("Chat w/ ", name, " re ", product)
                        : Pick(rng, Strings{absl::StrCat("Chat with ", name, " about the ", product),
                                            absl::StrCat("Customer opened a chat about the ", product)});
  } else {
    opening =
        shorthand
            ? absl::StrCat("Email from cust re: ", product)
            : Pick(rng, Strings{absl::StrCat(name, " wrote in about the ", product),
                                absl::StrCat("Email received from ", name, " regarding the ", product)});
  }
  std::string problem;
  if (plan.issue != nullptr && plan.kind != nullptr) {
    problem = FillPlaceholders(Pick(rng, plan.issue->phrases), *plan.kind, rng);
  } else {
    static const auto* topics = new absl::flat_hash_map<std::string, Strings>{
        {"order status", {"wanted to know when the order will arrive", "tracking has not updated for days"}},
        {"return request",
         {"wants to return it, no longer needed", "asked how to start a return",
          "not happy with it and wants a refund"}},
        {"billing question",
         {"was charged twice", "asked about a charge on the card statement",
          "promo code was not applied at checkout"}},
        {"product question",
         {"asked how to set it up", "asked whether it is compatible with an older model",
          "wanted to know how to clean it properly"}},
        {"account access",
         {"could not log in, password reset link expired", "locked out after too many attempts"}},
        {"delivery delay", {"order is a week late", "package stuck in transit"}},
        {"compliment",
         {"wanted to say how happy they are with it", "called to thank the team for fast delivery"}},
    };
    auto it = topics->find(plan.topic);
    problem = it != topics->end() ? Pick(rng, it->second) : absl::StrCat("question about ", plan.topic);
  }
  std::string mood;
  if (plan.sentiment < -0.5) {
    mood = Pick(rng, Strings{"Customer very upset", "Cust angry, mentioned leaving a bad review",
                             "Customer was furious and asked for a manager"});
  } else if (plan.sentiment < -0.1) {
    mood = Pick(rng, Strings{"Customer frustrated but polite", "Cust annoyed about the hassle",
                             "Customer disappointed"});
  } else if (plan.sentiment < 0.3) {
    mood = Pick(rng, Strings{"Customer calm", "Cust was fine about it", "Neutral tone throughout"});
  } else {
    mood = Pick(rng, Strings{"Customer happy with the quick help", "Cust thanked the agent",
                             "Very friendly customer"});
  }
  std::string resolution;
  if (plan.issue != nullptr) {
    resolution =
        Pick(rng, Strings{"Offered a replacement, customer accepted.", "Issued a full refund.",
                          "Sent a prepaid return label.", "Escalated to tier 2 for a warranty claim.",
                          "Opened RMA, replacement ships in 3-5 days.",
                          "No resolution yet, follow-up scheduled."});
  } else {
    resolution =
        Pick(rng, Strings{"Resolved.", "Provided tracking number.", "Explained the steps, resolved.",
                          "Refunded the difference.", "Sent help article link.", "Follow-up email sent."});
  }
  std::string notes = absl::StrCat(opening, shorthand ? " - " : ": ", problem, ". ", mood, ". ", resolution);
  return AddTypos(notes, shorthand ? 0.01 : 0.0, rng);
}

std::string WriteDescription(const CategorySpec& category, const ProductKind& kind, absl::string_view brand,
                             const std::vector<std::string>& features,
                             const std::vector<std::string>& strengths, Rng& rng) {
  std::string out =
      absl::StrCat("The ", brand, " ", kind.title, " is made ",
                   kind.uses.empty() ? std::string("for everyday use") : Pick(rng, kind.uses), ".");
  if (!features.empty()) absl::StrAppend(&out, " Features: ", absl::StrJoin(features, ", "), ".");
  for (const std::string& s : strengths) {
    const AspectSpec* a = FindAspect(s);
    if (a == nullptr || !a->generic || a->good_adj.empty()) continue;
    absl::StrAppend(&out, " ", Capitalize(Pick(rng, a->good_adj)), " ", a->nouns.front(), ".");
  }
  absl::StrAppend(&out, " Part of our ", category.name, " range.");
  return out;
}

}  // namespace marketlens::marketplace
