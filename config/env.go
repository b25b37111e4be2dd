package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// applyEnv overrides every field whose SYNCD_* variable is set. Variable
// names come from the yaml tags, so a key and its variable cannot drift.
func applyEnv(cfg *Config, environ []string) ([]string, error) {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "SYNCD_") {
			env[k] = v
		}
	}
	var applied []string
	err := walk(reflect.ValueOf(cfg).Elem(), "", func(key string, f reflect.Value) error {
		name := EnvName(key)
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
	return applied, err
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
