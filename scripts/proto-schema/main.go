// Writes sim/proto-schema.ts: for every message reachable from the kinds the simulator serves
// as protobuf, its JSON field names with their protobuf field numbers and types, and whether the
// Go field is a pointer (marshalled only when set) or a value (always marshalled, zero included).
// The numbers and types are those of the k8s.io/api and k8s.io/apimachinery generated.proto
// files; the Go struct tags carry them, and the Go types add the presence rule the .proto lacks.
package main

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Types with a JSON form of their own (a string, a number or raw JSON) and a fixed encoding.
var scalars = map[reflect.Type]string{
	reflect.TypeOf(metav1.Time{}):          "time",
	reflect.TypeOf(metav1.MicroTime{}):     "microtime",
	reflect.TypeOf(resource.Quantity{}):    "quantity",
	reflect.TypeOf(intstr.IntOrString{}):   "intOrString",
	reflect.TypeOf(metav1.Duration{}):      "duration",
	reflect.TypeOf(metav1.FieldsV1{}):      "fieldsV1",
	reflect.TypeOf(runtime.RawExtension{}): "rawExtension",
}

// Every built-in kind the simulator serves (sim/resources.ts, sim/install-resources.ts) but
// CustomResourceDefinition, whose schemas hold free-form JSON.
var roots = []any{
	corev1.PersistentVolumeClaimList{}, corev1.PersistentVolumeList{}, corev1.PodList{},
	corev1.NodeList{}, corev1.NamespaceList{}, corev1.EventList{}, corev1.SecretList{},
	corev1.ConfigMapList{}, corev1.ServiceAccountList{}, corev1.ServiceList{},
	storagev1.StorageClassList{}, storagev1.VolumeAttributesClassList{}, eventsv1.EventList{},
	admissionregistrationv1.MutatingWebhookConfigurationList{},
	admissionregistrationv1.ValidatingWebhookConfigurationList{},
	rbacv1.ClusterRoleList{}, rbacv1.ClusterRoleBindingList{}, rbacv1.RoleList{},
	rbacv1.RoleBindingList{}, batchv1.CronJobList{}, batchv1.JobList{},
	appsv1.DeploymentList{}, appsv1.StatefulSetList{}, policyv1.PodDisruptionBudgetList{},
	metav1.Status{},
}

var typeMeta = reflect.TypeOf(metav1.TypeMeta{})

type field struct {
	json, typ, key string
	number         int
	pointer        bool
	repeated       bool
	isMap          bool
	inline         bool
}

var messages = map[string][]field{}

func messageName(t reflect.Type) string {
	p := t.PkgPath()
	p = strings.TrimPrefix(p, "k8s.io/api/")
	p = strings.TrimPrefix(p, "k8s.io/apimachinery/pkg/apis/")
	p = strings.TrimPrefix(p, "k8s.io/apimachinery/pkg/")
	return strings.ReplaceAll(p, "/", ".") + "." + t.Name()
}

func elemType(t reflect.Type) string {
	if s, ok := scalars[t]; ok {
		return s
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int32:
		return "int32"
	case reflect.Int64:
		return "int64"
	case reflect.Float64:
		return "double"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "bytes"
		}
	case reflect.Struct:
		visit(t)
		return messageName(t)
	}
	panic(fmt.Sprintf("unsupported Go type %v", t))
}

func visit(t reflect.Type) {
	name := messageName(t)
	if _, seen := messages[name]; seen {
		return
	}
	messages[name] = nil
	var fields []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("protobuf")
		if !ok {
			if f.Type == typeMeta {
				// In the runtime.Unknown envelope, not in the message; an embedded object's JSON
				// (a StatefulSet's volumeClaimTemplates) may carry them all the same.
				fields = append(fields, field{json: "apiVersion", typ: "typeMeta"},
					field{json: "kind", typ: "typeMeta"})
			}
			continue
		}
		parts := strings.Split(tag, ",")
		number, err := strconv.Atoi(parts[1])
		if err != nil {
			panic(err)
		}
		jsonName := strings.Split(f.Tag.Get("json"), ",")[0]
		out := field{json: jsonName, number: number, inline: jsonName == ""}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			out.pointer = true
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Map:
			out.isMap = true
			out.key = elemType(ft.Key())
			out.typ = elemType(ft.Elem())
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.Uint8:
			out.repeated = true
			et := ft.Elem()
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			out.typ = elemType(et)
		default:
			out.typ = elemType(ft)
		}
		fields = append(fields, out)
	}
	messages[name] = fields
}

func main() {
	for _, r := range roots {
		visit(reflect.TypeOf(r))
	}
	names := make([]string, 0, len(messages))
	for n := range messages {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("// Generated by scripts/proto-schema (go run, from k8s.io/api and k8s.io/apimachinery\n")
	b.WriteString("// v0.37.2, the numbers and types of their generated.proto files). Do not edit.\n")
	b.WriteString("import type { ProtoMessages } from './protobuf.js';\n\n")
	b.WriteString("export const PROTO_MESSAGES: ProtoMessages = {\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %q: {\n", n)
		for _, f := range messages[n] {
			key := f.json
			if f.inline {
				key = "" // inline: its fields are the enclosing JSON object's own
			}
			fmt.Fprintf(&b, "    %q: { n: %d, type: %q", key, f.number, f.typ)
			if f.isMap {
				fmt.Fprintf(&b, ", map: %q", f.key)
			}
			if f.repeated {
				b.WriteString(", repeated: true")
			}
			if f.pointer {
				b.WriteString(", pointer: true")
			}
			b.WriteString(" },\n")
		}
		b.WriteString("  },\n")
	}
	b.WriteString("};\n")
	os.Stdout.WriteString(b.String())
}
