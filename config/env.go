package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xrash/smetrics"
)

// applyEnv overrides every field whose SYNCD_* variable is set. Variable
// names come from the yaml tags, so a key and its variable cannot drift.
// It also returns one warning for each SYNCD_* variable that is not a
// setting (a typo would otherwise be ignored without a word).
func applyEnv(cfg *Config, environ []string) (applied []string, warnings []UnknownVariable, err error) {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "SYNCD_") {
			env[k] = v
		}
	}
	known := map[string]bool{}
	err = walk(reflect.ValueOf(cfg).Elem(), "", func(key string, f reflect.Value) error {
		name := EnvName(key)
		known[name] = true
		raw, ok := env[name]
		if !ok {
			return nil
		}
		if err := setFromString(f, raw); err != nil {
			return &KeyError{Key: key, Msg: err.Error()}
		}
		applied = append(applied, name)
		return nil
	})
	sort.Strings(applied)
	for name := range env {
		if known[name] || otherVariable(name) {
			continue
		}
		warnings = append(warnings, UnknownVariable{Name: name, DidYouMean: closest(name, envNames())})
	}
	sort.Slice(warnings, func(i, j int) bool { return warnings[i].Name < warnings[j].Name })
	return applied, warnings, err
}

// UnknownVariable is a SYNCD_* variable that is not a setting, and the
// setting it is most likely a typo of ("" when none is close).
type UnknownVariable struct {
	Name, DidYouMean string
}

func (u UnknownVariable) String() string {
	s := u.Name + " is not a syncd setting and is ignored"
	if u.DidYouMean != "" {
		s += "; did you mean " + u.DidYouMean + "?"
	}
	return s
}

// otherVariable reports whether a SYNCD_* variable is read by something
// other than the configuration: the --config flag, the bot's library path,
// and the tests' and benchmarks' own settings.
func otherVariable(name string) bool {
	switch name {
	case "SYNCD_CONFIG", "SYNCD_ONNXRUNTIME_LIB":
		return true
	}
	for _, p := range []string{"SYNCD_TEST_", "SYNCD_E2E_", "SYNCD_BENCH_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func envNames() []string {
	keys := Keys()
	names := make([]string, len(keys), len(keys)+2)
	for i, k := range keys {
		names[i] = EnvName(k)
	}
	return append(names, "SYNCD_CONFIG", "SYNCD_ONNXRUNTIME_LIB")
}

// closest is the candidate nearest to s by edit distance, if it is near
// enough to be a typo of it (a third of its length at most), else "".
func closest(s string, candidates []string) string {
	best, bestDist := "", len(s)/3+1
	for _, c := range candidates {
		if d := smetrics.WagnerFischer(strings.ToLower(s), strings.ToLower(c), 1, 1, 1); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// Keys lists every dotted key, for documentation checks.
func Keys() []string {
	var keys []string
	cfg := Default()
	_ = walk(reflect.ValueOf(&cfg).Elem(), "", func(key string, _ reflect.Value) error {
		keys = append(keys, key)
		return nil
	})
	return keys
}

func walk(v reflect.Value, prefix string, fn func(key string, f reflect.Value) error) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Duration(0)) {
			if err := walk(f, key, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(key, f); err != nil {
			return err
		}
	}
	return nil
}

func setFromString(f reflect.Value, raw string) error {
	if f.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(raw)
		if err != nil {
			if _, nerr := strconv.ParseFloat(raw, 64); nerr == nil {
				return fmt.Errorf("a duration needs a unit: write %ss (or ms, m, h), got %q", raw, raw)
			}
			return fmt.Errorf("want a duration such as 5s or 1m, got %q", raw)
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.Pointer: // an optional value (*bool): nil means its default
		v := reflect.New(f.Type().Elem())
		if err := setFromString(v.Elem(), raw); err != nil {
			return err
		}
		f.Set(v)
	case reflect.String:
		f.SetString(raw)
	case reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", raw)
		}
		f.SetInt(int64(n))
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		f.SetBool(b)
	case reflect.Float64:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", raw)
		}
		f.SetFloat(x)
	case reflect.Slice:
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}
