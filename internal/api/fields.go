package api

import (
	"context"
	"time"

	"github.com/usherhq/usher/internal/user"
)

type fieldBody struct {
	Name      string    `json:"name" doc:"The identifier used in the API, imports and filters."`
	Label     string    `json:"label"`
	Type      string    `json:"type" enum:"text,number,date,bool,enum"`
	Required  bool      `json:"required"`
	Pattern   string    `json:"pattern,omitempty" doc:"For text fields: a regular expression the whole value must match."`
	Options   []string  `json:"options,omitempty" doc:"For enum fields: the allowed values."`
	Position  int       `json:"position" doc:"Where the field comes in the list of fields and on user forms: 1, 2, 3, …"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

func toField(f *user.Field) fieldBody {
	return fieldBody{Name: f.Name, Label: f.Label, Type: string(f.Type), Required: f.Required, Pattern: f.Pattern,
		Options: f.Options, Position: f.Position, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, Version: f.Version}
}

type fieldOutput struct {
	ETag string `header:"ETag"`
	Body fieldBody
}

func fieldOut(f *user.Field) *fieldOutput {
	return &fieldOutput{ETag: etag(f.Version), Body: toField(f)}
}

type fieldList struct {
	Body struct {
		Fields []fieldBody `json:"fields"`
	}
}

func (s *Server) listFields(ctx context.Context, _ *struct{}) (*fieldList, error) {
	fields, err := s.deps.Users.Fields(ctx, actorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &fieldList{}
	out.Body.Fields = make([]fieldBody, 0, len(fields))
	for i := range fields {
		out.Body.Fields = append(out.Body.Fields, toField(&fields[i]))
	}
	return out, nil
}

// FieldChanges are the parts of a custom field that can change after it is defined.
type FieldChanges struct {
	Label    *string   `json:"label,omitempty"`
	Required *bool     `json:"required,omitempty"`
	Pattern  *string   `json:"pattern,omitempty"`
	Options  *[]string `json:"options,omitempty"`
	Position *int      `json:"position,omitempty" minimum:"1" doc:"Moves the field to this place in the order, from 1; the others make room. New fields come last without it."`
}

type createFieldInput struct {
	Body struct {
		Name string `json:"name" doc:"Lowercase letters, digits and _, starting with a letter."`
		Type string `json:"type" enum:"text,number,date,bool,enum"`
		FieldChanges
	}
}

func (s *Server) createField(ctx context.Context, in *createFieldInput) (*fieldOutput, error) {
	b := in.Body
	f, err := s.deps.Users.CreateField(ctx, actorFrom(ctx), user.FieldInput{Name: b.Name, Type: user.FieldType(b.Type),
		Label: b.Label, Required: b.Required, Pattern: b.Pattern, Options: b.Options, Position: b.Position})
	if err != nil {
		return nil, err
	}
	return fieldOut(f), nil
}

type updateFieldInput struct {
	Name    string `path:"name"`
	IfMatch string `header:"If-Match" doc:"The field's ETag as you read it. Required."`
	Body    FieldChanges
}

func (s *Server) updateField(ctx context.Context, in *updateFieldInput) (*fieldOutput, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	b := in.Body
	f, err := s.deps.Users.UpdateField(ctx, actorFrom(ctx), in.Name, v, user.FieldInput{Label: b.Label, Required: b.Required,
		Pattern: b.Pattern, Options: b.Options, Position: b.Position})
	if err != nil {
		return nil, err
	}
	return fieldOut(f), nil
}

type deleteFieldInput struct {
	Name    string `path:"name"`
	IfMatch string `header:"If-Match" doc:"The field's ETag as you read it. Required."`
}

func (s *Server) deleteField(ctx context.Context, in *deleteFieldInput) (*struct{}, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return nil, s.deps.Users.DeleteField(ctx, actorFrom(ctx), in.Name, v)
}
